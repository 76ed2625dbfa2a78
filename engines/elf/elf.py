#!/opt/elf/bin/python3 -IB
"""elf engine: the structure of an ELF or Mach-O file with LIEF.

report.json (menagerie.report/1): headers, sections with entropy, segments,
symbols, the interpreter (the dynamic linker) and the linked libraries
(tags elf.interpreter and elf.library; macho.dylinker and macho.library).
A truncated or unparseable file is reported as such (exit 0, informational).
result: LIEF's JSON of the binary (lief.to_json), else the report.
"""
import sys

sys.path.insert(0, "/engine")

import lief  # noqa: E402

import elf_macho  # noqa: E402
from menagerie_report import Report, fail  # noqa: E402

MACHO_MAGICS = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce", b"\xca\xfe\xba\xbe")


def name(value):
    """LIEF's enums print as TYPE.DYN; the part after the dot."""
    return str(value).rsplit(".", 1)[-1]


def not_parsed(r, size, why):
    r.kv("File", [("Size", "%d bytes" % size), ("LIEF", why)])
    r.summary = "not a parseable ELF or Mach-O file (%d bytes): %s" % (size, why)
    r.verdict("informational", "damaged, truncated or not an ELF/Mach-O file: %s" % why)
    r.finish()


def elf_report(r, b, size):
    h = b.header
    notes = {name(n.type): bytes(n.description).hex() for n in b.notes}
    symtab = {s.name for s in b.symtab_symbols}
    interpreter = b.interpreter if b.has_interpreter else ""
    kind = name(h.file_type)
    if kind == "DYN":
        kind = "DYN (PIE executable)" if interpreter else "DYN (shared object)"
    dynamic = {name(e.tag): e for e in b.dynamic_entries}
    r.kv("Headers", [
        ("Class", name(h.identity_class)), ("Data", name(h.identity_data)), ("OS/ABI", name(h.identity_os_abi)),
        ("Type", kind), ("Machine", name(h.machine_type)), ("Entry point", "0x%x" % h.entrypoint),
        ("Interpreter", interpreter or "none (static or not an executable)"),
        ("PIE", "yes" if b.is_pie else "no"), ("NX stack", "yes" if b.has_nx else "no"),
        ("RELRO", "yes" if any(name(s.type) == "GNU_RELRO" for s in b.segments) else "no"),
        ("Stripped", "no" if symtab else "yes (no .symtab)"),
        ("Build ID", notes.get("GNU_BUILD_ID", "none")),
        ("SONAME", getattr(dynamic.get("SONAME"), "name", "") or "none"),
        ("RUNPATH", getattr(dynamic.get("RUNPATH"), "runpath", "") or getattr(dynamic.get("RPATH"), "rpath", "") or "none"),
        ("File size", "%d bytes" % size),
    ])
    libraries = list(b.libraries)
    r.table("Libraries", ["library"], [[lib] for lib in libraries])
    for lib in libraries:
        r.tag("elf.library", lib)
    if interpreter:
        r.tag("elf.interpreter", interpreter)
    sections = list(b.sections)
    r.table("Sections", ["name", "type", "address", "offset", "size", "entropy", "flags"], [
        [s.name, name(s.type), "0x%x" % s.virtual_address, "0x%x" % s.offset, str(s.size), "%.2f" % s.entropy,
         " ".join(name(f) for f in s.flags_list)] for s in sections])
    segments = list(b.segments)
    r.table("Segments", ["type", "flags", "offset", "address", "file size", "memory size"], [
        [name(s.type), name(s.flags), "0x%x" % s.file_offset, "0x%x" % s.virtual_address, str(s.physical_size),
         str(s.virtual_size)] for s in segments])
    rows = []
    for table, symbols in (("dynsym", b.dynamic_symbols), ("symtab", b.symtab_symbols)):
        for s in symbols:
            if s.name:
                rows.append([s.name, name(s.type), name(s.binding), "0x%x" % s.value, str(s.size), table,
                             "imported" if s.imported else "exported" if s.exported else ""])
    r.table("Symbols", ["name", "type", "binding", "value", "size", "table", "linkage"], rows)

    truncated = []
    if h.section_header_offset + h.numberof_sections * h.section_header_size > size:
        truncated.append("the section headers")
    truncated += ["segment %s at 0x%x" % (name(s.type), s.file_offset) for s in segments
                  if s.file_offset + s.physical_size > size]
    parts = ["%s %s for %s" % (name(h.identity_class), kind, name(h.machine_type))]
    parts.append("interpreter %s" % interpreter if interpreter else "no interpreter")
    parts.append(elf_macho.count(len(libraries), "library", "libraries") + (" (%s)" % ", ".join(libraries[:5]) if libraries else ""))
    parts += [elf_macho.count(len(sections), "section"), elf_macho.count(len(rows), "symbol")]
    return parts, truncated


def main():
    r = Report("elf")
    lief.logging.disable()
    with open(r.input_path, "rb") as f:
        head = f.read(4)
        size = f.seek(0, 2)
    if head != b"\x7fELF" and head not in MACHO_MAGICS:
        return not_parsed(r, size, "neither the ELF magic nor a Mach-O one (it starts with %s)" % head.hex())
    try:
        binary = lief.parse(r.input_path)
    except Exception as err:
        return not_parsed(r, size, "LIEF failed: %s" % err)
    if binary is None:
        return not_parsed(r, size, "LIEF could not parse it")
    try:
        if isinstance(binary, lief.ELF.Binary):
            parts, truncated = elf_report(r, binary, size)
        else:
            parts, truncated = elf_macho.report(r, binary, size, lief.MachO.parse(r.input_path))
    except Exception as err:
        fail(3, "reading what LIEF parsed failed: %r" % err)
    if truncated:
        parts.append("truncated: %s beyond the end of the file" % ", ".join(truncated[:5]))
        r.verdict("informational", "truncated: %s beyond the end of the file" % ", ".join(truncated[:5]))
    r.summary = "; ".join(parts)
    try:
        result = lief.to_json(binary).encode("utf-8")
    except Exception as err:
        r.note("LIEF's JSON failed (%s); the result is the report" % err)
        result = None
    r.finish(result=result)


if __name__ == "__main__":
    main()
