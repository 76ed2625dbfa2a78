"""The office engine's embedded objects: rtfobj's objects in an RTF, OLE
Package objects (\\x01Ole10Native streams, oleobj's parser) in OLE files and
in OOXML parts, the other parts under */embeddings/, and OOXML external
relationships. Each object found is a dict (for the result and the table);
extracted ones become children of the report."""
import io
import os
import zipfile

import olefile
from oletools import oleobj, rtfobj

MAX_CHILD = 64 * 1024 * 1024  # one extracted object
MAX_TOTAL = 512 * 1024 * 1024  # all of them
EXECUTABLE = rtfobj.re_executable_extensions


class Extractor:
    def __init__(self, report):
        self.r = report
        self.total = 0
        self.objects = []

    def save(self, data, name, what):
        """Writes `data` as a child (relation "embedded") named `name`, within the bounds."""
        if len(data) > MAX_CHILD or self.total + len(data) > MAX_TOTAL:
            self.r.note("%s (%d bytes) was not extracted: over the engine's size bounds" % (what, len(data)))
            return None
        path = self.r.child_path(name)
        with open(path, "wb") as f:
            f.write(data)
        self.total += len(data)
        self.r.child(path, "embedded", name)
        return os.path.basename(path)

    def package(self, native, where, has_size):
        """An OLE Package (OLENativeStream): its file, extracted under its own name."""
        pkg = oleobj.OleNativeStream(native, package=not has_size)
        entry = {"where": where, "kind": "OLE Package", "class": "Package", "filename": pkg.filename or "",
                 "source_path": pkg.src_path or "", "size": pkg.actual_size or 0}
        if pkg.is_link:
            entry["kind"] = "OLE Package (link)"
        else:
            entry["child"] = self.save(pkg.data, pkg.filename or "package.bin", where)
        self.objects.append(entry)

    def ole_streams(self, ole, where):
        """The OLE Package objects of an open OLE file; True if any."""
        found = False
        for parts in ole.listdir():
            if parts[-1].lower() != "\x01ole10native":
                continue
            stream = "/".join(parts)
            try:
                self.package(ole.openstream(parts).read(), "%s:%s" % (where, stream.replace("\x01", "\\x01")), True)
                found = True
            except Exception as e:  # a malformed stream is reported, the rest still read
                self.objects.append({"where": "%s:%s" % (where, stream), "kind": "malformed OLE Package", "error": str(e)})
        return found

    def from_ole(self, path):
        for ole in oleobj.find_ole(path, None):  # the file itself, and PowerPoint's compressed objects
            if ole is not None:
                self.ole_streams(ole, "OLE")

    def from_zip(self, path):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                name = info.filename
                if info.is_dir() or info.file_size > MAX_CHILD:
                    if info.file_size > MAX_CHILD:
                        self.r.note("part %s (%d bytes) was not read: over the engine's size bounds" % (name, info.file_size))
                    continue
                in_embeddings = "/embeddings/" in "/" + name
                with z.open(info) as f:
                    head = f.read(8)
                if head != olefile.MAGIC and not in_embeddings:
                    continue
                data = z.read(info)
                if head == olefile.MAGIC:
                    try:
                        with olefile.OleFileIO(io.BytesIO(data)) as ole:
                            if self.ole_streams(ole, name) or name.lower().endswith("vbaproject.bin"):
                                continue
                    except Exception as e:
                        self.r.note("part %s is not a readable OLE file: %s" % (name, e))
                if in_embeddings:
                    entry = {"where": name, "kind": "embedded part", "class": "", "filename": os.path.basename(name),
                             "size": len(data)}
                    entry["child"] = self.save(data, os.path.basename(name), name)
                    self.objects.append(entry)

    def from_rtf(self, data):
        parser = rtfobj.RtfObjParser(data)
        parser.parse()
        for i, obj in enumerate(parser.objects):
            where = "RTF object %d at 0x%08X" % (i, obj.start)
            entry = {"where": where, "kind": "not a well-formed OLE object", "class": "", "filename": ""}
            if obj.is_ole:
                entry.update(kind="OLE 1.0 object", size=obj.oledata_size or 0,
                             **{"class": obj.class_name.decode("latin-1", "replace") if obj.class_name else ""})
                if obj.clsid:
                    entry["clsid"] = "%s %s" % (obj.clsid, obj.clsid_desc or "")
                if obj.is_package:
                    entry.update(kind="OLE Package", filename=obj.filename or "", source_path=obj.src_path or "",
                                 size=len(obj.olepkgdata or b""))
                    entry["child"] = self.save(obj.olepkgdata or b"", obj.filename or "package.bin", where)
                else:
                    entry["child"] = self.save(obj.oledata or b"", "object-%d.%s.bin" % (i, entry["class"] or "ole"), where)
            else:
                entry["size"] = len(obj.rawdata or b"")
                entry["child"] = self.save(obj.rawdata or b"", "object-%d.raw" % i, where)
            self.objects.append(entry)

    def external_relationships(self, path):
        """OOXML relationships to external targets of the kinds oleobj flags (remote templates, OLE objects, frames)."""
        found = []
        try:
            parser = oleobj.XmlParser(path)
            for rel_type, target in oleobj.find_external_relationships(parser):
                found.append({"type": rel_type, "target": target})
        except Exception as e:
            self.r.note("external relationships were not read: %s" % e)
        return found


def risks(objects):
    """Why the objects found are suspicious, if they are: executables in packages, exploit classes."""
    reasons = []
    for o in objects:
        name = o.get("filename") or ""
        cls = (o.get("class") or "").lower()
        if o.get("kind", "").startswith("OLE Package") and EXECUTABLE.search(name):
            reasons.append("an embedded package with an executable file name (%s)" % name)
        if cls.startswith("equation.3"):
            reasons.append("an Equation Editor object (CVE-2017-11882)")
        if cls == "ole2link" or "CVE" in o.get("clsid", ""):
            reasons.append("an object of a class known from exploits (%s)" % (o.get("clsid") or o.get("class")))
    return reasons
