"""The Mach-O half of the elf engine (LIEF's MachO.Binary)."""


def name(value):
    return str(value).rsplit(".", 1)[-1]


def count(n, one, many=None):
    return "%d %s" % (n, one if n == 1 else many or one + "s")


def version(v):
    return ".".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)


def report(r, b, size, fat):
    """Fills `r` from the Mach-O `b` (the first architecture of `fat`): (summary parts, truncated parts)."""
    h = b.header
    dylinker = b.dylinker.name if b.has_dylinker else ""
    arches = [name(x.header.cpu_type) for x in fat] if fat is not None else []
    fields = [
        ("CPU", name(h.cpu_type)), ("File type", name(h.file_type)),
        ("Flags", ", ".join(name(f) for f in h.flags_list) or "-"), ("Load commands", str(h.nb_cmds)),
        ("Entry point", "0x%x" % b.entrypoint if b.has_entrypoint else "none"),
        ("Dynamic linker", dylinker or "none"),
        ("UUID", "".join("%02x" % x for x in b.uuid.uuid) if b.has_uuid else "none"),
        ("Code signature", "present" if b.has_code_signature else "absent"),
        ("File size", "%d bytes" % size),
    ]
    if len(arches) > 1:
        fields.insert(0, ("Fat binary", "%d architectures (%s); the first is described" % (len(arches), ", ".join(arches))))
    r.kv("Headers", fields)
    libraries = list(b.libraries)
    r.table("Libraries", ["library", "current version", "compatibility version"], [
        [lib.name, version(lib.current_version), version(lib.compatibility_version)] for lib in libraries])
    for lib in libraries:
        r.tag("macho.library", lib.name)
    if dylinker:
        r.tag("macho.dylinker", dylinker)
    segments = list(b.segments)
    r.table("Segments", ["name", "address", "memory size", "offset", "file size", "max protection", "protection"], [
        [s.name, "0x%x" % s.virtual_address, str(s.virtual_size), "0x%x" % s.file_offset, str(s.file_size),
         str(s.max_protection), str(s.init_protection)] for s in segments])
    sections = list(b.sections)
    r.table("Sections", ["name", "segment", "address", "offset", "size", "entropy"], [
        [s.name, s.segment_name, "0x%x" % s.virtual_address, "0x%x" % s.offset, str(s.size), "%.2f" % s.entropy]
        for s in sections])
    rows = [[s.name, name(s.type), "0x%x" % s.value, name(s.origin)] for s in b.symbols if s.name]
    r.table("Symbols", ["name", "type", "value", "origin"], rows)
    truncated = ["segment %s" % s.name for s in segments if s.file_offset + s.file_size > size]
    parts = ["Mach-O %s for %s" % (name(h.file_type), name(h.cpu_type)) + (" (fat: %s)" % ", ".join(arches) if len(arches) > 1 else "")]
    parts.append("dynamic linker %s" % dylinker if dylinker else "no dynamic linker")
    parts.append(count(len(libraries), "library", "libraries")
                 + (" (%s)" % ", ".join(lib.name for lib in libraries[:5]) if libraries else ""))
    parts += [count(len(sections), "section"), count(len(rows), "symbol")]
    return parts, truncated
