#!/usr/bin/python3 -IB
"""pe engine: the structure of $MENAGERIE_MOUNTPOINT/$MENAGERIE_INPUT with pefile.

report.json (menagerie.report/1): headers, sections with entropy, imports
and exports, the imphash (hash.imphash), resources, version information,
the overlay (extracted as a child, relation "overlay"), Authenticode presence
and certificates (not verified), compile time and packer hints (pe.packer).
A file pefile cannot parse, or a truncated one, is reported as such (exit 0).
result: pefile's dump_dict as JSON.
"""
import json
import sys

sys.path.insert(0, "/engine")

import pefile  # noqa: E402

import pe_hints as hints  # noqa: E402
from menagerie_report import Report  # noqa: E402

WARNINGS_SHOWN = 50


def flags(value, table, prefix):
    return ", ".join(name[len(prefix):] for name, bit in table if value & bit) or "-"


def count(n, one, many=None):
    return "%d %s" % (n, one if n == 1 else many or one + "s")


def unparseable(r, data, err):
    fields = [("Size", "%d bytes" % len(data)), ("Starts with MZ", "yes" if data[:2] == b"MZ" else "no")]
    if len(data) >= 64 and data[:2] == b"MZ":
        at = int.from_bytes(data[60:64], "little")
        fields.append(("PE header offset (e_lfanew)", "0x%x" % at))
        fields.append(("PE signature", "present" if data[at:at + 4] == b"PE\0\0" else
                       "beyond the end of the file" if at + 4 > len(data) else "absent"))
    fields.append(("pefile's error", str(err)))
    r.kv("File", fields)
    r.summary = "not a parseable PE (%d bytes): %s" % (len(data), err)
    r.verdict("informational", "damaged or truncated PE: %s" % err)
    r.finish()


def section_rows(pe, size):
    rows, truncated = [], []
    for s in pe.sections:
        name = hints.section_name(s)
        if s.PointerToRawData + s.SizeOfRawData > size:
            truncated.append(name)
        rights = "".join(c if s.Characteristics & bit else "-" for c, bit in (("R", 0x40000000), ("W", 0x80000000), ("X", 0x20000000)))
        rows.append([name, "0x%x" % s.VirtualAddress, str(s.Misc_VirtualSize), "0x%x" % s.PointerToRawData,
                     str(s.SizeOfRawData), "%.2f" % s.get_entropy(), rights])
    return rows, truncated


def import_rows(pe):
    rows = []
    for attr, kind in (("DIRECTORY_ENTRY_IMPORT", "import"), ("DIRECTORY_ENTRY_DELAY_IMPORT", "delay")):
        for entry in getattr(pe, attr, []):
            dll = entry.dll.decode("latin-1")
            for imp in entry.imports:
                name = imp.name.decode("latin-1") if imp.name else ""
                rows.append([dll, name or "ordinal %s" % imp.ordinal, "" if imp.ordinal is None else str(imp.ordinal), kind])
    return rows


def export_rows(pe):
    directory = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    rows = []
    for e in getattr(directory, "symbols", []):
        rows.append([str(e.ordinal), e.name.decode("latin-1") if e.name else "", "0x%x" % e.address,
                     e.forwarder.decode("latin-1") if e.forwarder else ""])
    return rows


def version_info(pe):
    fields = []
    for info in getattr(pe, "FileInfo", []) or []:
        for entry in info:
            for table in getattr(entry, "StringTable", []) or []:
                fields += [(k.decode("latin-1"), v.decode("latin-1")) for k, v in table.entries.items()]
    return fields


def pdb_paths(pe):
    paths = []
    for entry in getattr(pe, "DIRECTORY_ENTRY_DEBUG", []):
        name = getattr(getattr(entry, "entry", None), "PdbFileName", None)
        if name:
            paths.append(name.rstrip(b"\0").decode("latin-1"))
    return paths


def headers(pe, kind, data):
    fh, oh = pe.FILE_HEADER, pe.OPTIONAL_HEADER
    entry = pe.get_section_by_rva(oh.AddressOfEntryPoint)
    return [
        ("Type", kind),
        ("Machine", pefile.MACHINE_TYPE.get(fh.Machine, hex(fh.Machine)).replace("IMAGE_FILE_MACHINE_", "")),
        ("Subsystem", pefile.SUBSYSTEM_TYPE.get(oh.Subsystem, str(oh.Subsystem)).replace("IMAGE_SUBSYSTEM_", "")),
        ("Compiled", hints.iso(fh.TimeDateStamp)),
        ("Entry point", "0x%x (%s)" % (oh.AddressOfEntryPoint, hints.section_name(entry) if entry else "outside every section")),
        ("Image base", "0x%x" % oh.ImageBase),
        ("Size of image", str(oh.SizeOfImage)),
        ("Sections", str(fh.NumberOfSections)),
        ("Linker version", "%d.%d" % (oh.MajorLinkerVersion, oh.MinorLinkerVersion)),
        ("OS version", "%d.%d" % (oh.MajorOperatingSystemVersion, oh.MinorOperatingSystemVersion)),
        ("Characteristics", flags(fh.Characteristics, pefile.image_characteristics, "IMAGE_FILE_")),
        ("DLL characteristics", flags(oh.DllCharacteristics, pefile.dll_characteristics, "IMAGE_DLLCHARACTERISTICS_")),
        ("Checksum", "0x%x stored, 0x%x computed" % (oh.CheckSum, pe.generate_checksum())),
        ("Rich header", "present" if getattr(pe, "RICH_HEADER", None) else "absent"),
        ("File size", "%d bytes" % len(data)),
        ("File entropy", "%.2f" % hints.entropy(data)),
    ]


def plain(value):
    """pefile's dump_dict as JSON can hold: bytes as latin-1 text, keys as strings."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("latin-1")
    if isinstance(value, dict):
        return {plain(k) if isinstance(k, (bytes, bytearray)) else k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def main():
    r = Report("pe")
    data = r.read_input()
    size = len(data)
    try:
        pe = pefile.PE(data=data)
    except Exception as err:  # pefile raises PEFormatError, and sometimes others, on damaged files
        return unparseable(r, data, err)

    kind = "driver" if pe.is_driver() else "DLL" if pe.is_dll() else "executable"
    bits = "PE32+" if pe.OPTIONAL_HEADER.Magic == 0x20B else "PE32"
    r.kv("Headers", headers(pe, "%s %s" % (bits, kind), data))

    sections, truncated = section_rows(pe, size)
    r.table("Sections", ["name", "virtual address", "virtual size", "raw offset", "raw size", "entropy", "rights"], sections)

    imports = import_rows(pe)
    imphash = pe.get_imphash()
    if imphash:
        r.tag("hash.imphash", imphash)
    r.table("Imports", ["library", "function", "ordinal", "kind"], imports)
    exports = export_rows(pe)
    if exports:
        r.table("Exports", ["ordinal", "name", "address", "forwarder"], exports)
        for row in exports:
            r.tag("pe.export", row[1])

    resources = hints.resources(pe, data)
    if resources:
        r.table("Resources", ["type", "name", "language", "offset", "size", "entropy", "first bytes"], resources)
    version = version_info(pe)
    if version:
        r.kv("Version information", version)
    for path in pdb_paths(pe):
        r.tag("pe.pdb", path)

    certs = hints.certificate_table(pe, size)
    signature = [("Authenticode signature", "present" if certs else "absent")]
    if certs:
        signature += [("Certificate table", "%d bytes at 0x%x" % (certs[1], certs[0])), ("Verified", "no (presence only)")]
        try:
            rows = hints.certificates(data[certs[0]:certs[0] + certs[1]])
            r.table("Certificates", ["subject", "issuer", "serial", "valid from", "valid to"], rows)
            for row in rows[:1]:
                r.tag("pe.signer", row[0])
        except Exception as err:
            signature.append(("Certificates", "could not be read: %s" % err))
    r.kv("Signature", signature)

    overlay = None if truncated else hints.overlay_extent(pe, size, certs)
    if overlay:
        start, end = overlay
        path = r.child_path("overlay.bin")
        with open(path, "wb") as f:
            f.write(data[start:end])
        r.child(path, "overlay", "overlay at 0x%x" % start)
        r.kv("Overlay", [("Offset", "0x%x" % start), ("Size", "%d bytes" % (end - start)),
                         ("Entropy", "%.2f" % hints.entropy(data[start:end])), ("First bytes", data[start:start + 16].hex())])

    functions = sum(1 for row in imports)
    packers = hints.packer_hints(pe, functions)
    if packers:
        r.table("Packer hints", ["packer", "evidence"], packers)
        for packer, _ in packers:
            r.tag("pe.packer", packer)

    warnings = pe.get_warnings()
    if warnings:
        shown = warnings[:WARNINGS_SHOWN]
        more = "\n(%d more)" % (len(warnings) - len(shown)) if len(warnings) > len(shown) else ""
        r.text("pefile warnings", "\n".join(shown) + more)

    parts = ["%s %s for %s" % (bits, kind, dict(headers(pe, "", data))["Machine"]), "%d sections" % len(pe.sections),
             count(functions, "import") + " from " + count(len({row[0] for row in imports}), "library", "libraries")]
    if exports:
        parts.append(count(len(exports), "export"))
    parts.append("compiled %s" % hints.iso(pe.FILE_HEADER.TimeDateStamp))
    if certs:
        parts.append("Authenticode signature present")
    if overlay:
        parts.append("overlay of %d bytes" % (overlay[1] - overlay[0]))
    if packers:
        parts.append("packer hints: %s" % ", ".join(sorted({p for p, _ in packers})))
    if truncated:
        parts.append("truncated: %s beyond the end of the file" % ", ".join(truncated))
        r.verdict("informational", "truncated PE: the data of %d of %d sections lies beyond the end of the file"
                  % (len(truncated), len(pe.sections)))
    r.summary = "; ".join(parts)
    try:
        result = json.dumps(plain(pe.dump_dict()), default=str, indent=1).encode("utf-8")
    except Exception as err:
        r.note("pefile's dump_dict failed (%s); result is the report" % err)
        result = None
    r.finish(result=result)


if __name__ == "__main__":
    main()
