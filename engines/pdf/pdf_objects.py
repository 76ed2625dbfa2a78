"""The pdf engine's walk of a PDF's objects with pypdf: JavaScript (/JS),
launch actions, URIs, and embedded files (/EmbeddedFile streams, named by
the file specifications that point at them), each found in every indirect
object, whether the document's trees reach it or not."""
import zlib

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

MAX_CHILD = 64 * 1024 * 1024  # one embedded file, decoded
MAX_DEPTH = 32


def text_of(value):
    """A /JS, /URI or file name value: a string, or a stream's decoded text."""
    if isinstance(value, IndirectObject):
        value = value.get_object()
    if isinstance(value, StreamObject):
        return decoded(value)[0].decode("latin-1")
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def decoded(stream):
    """A stream's data, decoded, at most MAX_CHILD bytes: (data, whole). Flate is inflated here, within the bound."""
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, ArrayObject) else ([str(filters)] if filters else [])
    if names == ["/FlateDecode"] and "/DecodeParms" not in stream:
        raw = stream._data  # the encoded bytes, as stored (pypdf has no public name for them)
        inflater = zlib.decompressobj()
        data = inflater.decompress(raw, MAX_CHILD + 1)
        return data[:MAX_CHILD], len(data) <= MAX_CHILD
    data = stream.get_data()
    return data[:MAX_CHILD], len(data) <= MAX_CHILD


class Walk:
    def __init__(self, path):
        self.reader = PdfReader(path, strict=False)
        self.encrypted = bool(self.reader.is_encrypted)
        self.decrypted = False
        if self.encrypted:
            try:
                self.decrypted = bool(self.reader.decrypt(""))
            except Exception:
                self.decrypted = False
        self.javascript, self.launch, self.uris = [], [], []
        self.specs = {}  # stream object number -> (file name, its file specification's object number, inline in a /FileAttachment)
        self.attachment_specs = set()  # object numbers of file specifications that /FileAttachment annotations point at
        self.files = []  # (object number, stream)
        self.errors = []

    def pages(self):
        try:
            return len(self.reader.pages)
        except Exception as e:
            self.errors.append("pages: %s" % e)
            return None

    def metadata(self):
        try:
            info = self.reader.metadata or {}
            return [(str(k).lstrip("/"), text_of(v)) for k, v in info.items()]
        except Exception as e:
            self.errors.append("metadata: %s" % e)
            return []

    def numbers(self):
        found = set()
        for gen, table in (self.reader.xref or {}).items():
            found.update((num, gen) for num in table)
        found.update((num, 0) for num in (self.reader.xref_objStm or {}))
        return sorted(found)

    def run(self):
        for num, gen in self.numbers():
            try:
                obj = IndirectObject(num, gen, self.reader).get_object()
            except Exception as e:
                self.errors.append("object %d %d: %s" % (num, gen, e))
                continue
            if isinstance(obj, StreamObject) and obj.get("/Type") == "/EmbeddedFile":
                self.files.append((num, obj))
            try:
                self.visit(obj, num, 0, None)
            except Exception as e:
                self.errors.append("object %d %d: %s" % (num, gen, e))
        return self

    def file_of(self, num):
        """An embedded file stream's name and relation ("attachment" for a /FileAttachment annotation's)."""
        name, spec, inline_attachment = self.specs.get(num, ("", None, False))
        return name, "attachment" if inline_attachment or spec in self.attachment_specs else "embedded"

    def visit(self, value, num, depth, parent):
        """Looks inside one object's direct values (references are visited as objects of their own)."""
        if depth > MAX_DEPTH:
            return
        if isinstance(value, DictionaryObject):
            if "/JS" in value:
                self.javascript.append((num, text_of(value["/JS"])))
            if value.get("/S") == "/Launch":
                target = value.get("/F") or value.get("/Win") or ""
                self.launch.append((num, text_of(target.get("/F", target) if isinstance(target, DictionaryObject) else target)))
            if "/URI" in value and not isinstance(value["/URI"], (DictionaryObject, ArrayObject)):
                self.uris.append((num, text_of(value["/URI"])))
            ef = value.get("/EF")
            if isinstance(ef, IndirectObject):
                ef = ef.get_object()
            if isinstance(ef, DictionaryObject):
                name = next((text_of(value[k]) for k in ("/UF", "/F") if k in value), "")
                for key in ("/UF", "/F"):
                    ref = ef.get(key)
                    if isinstance(ref, IndirectObject) and ref.idnum not in self.specs:
                        self.specs[ref.idnum] = (name, num if depth == 0 else None, parent == "/FileAttachment")
            subtype = value.get("/Subtype")
            if subtype == "/FileAttachment" and isinstance(value.get("/FS"), IndirectObject):
                self.attachment_specs.add(value["/FS"].idnum)
            for key, item in value.items():
                if key != "/Parent" and not isinstance(item, IndirectObject):
                    self.visit(item, num, depth + 1, subtype if key == "/FS" else None)
        elif isinstance(value, ArrayObject):
            for item in value:
                if not isinstance(item, IndirectObject):
                    self.visit(item, num, depth + 1, None)
