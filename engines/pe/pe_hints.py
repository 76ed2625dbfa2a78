"""Helpers of the pe engine: packer hints, the Authenticode certificates, the
overlay's extent and the resource tree."""
import collections
import datetime
import math

import pefile

# Section names that packers and protectors leave behind, lower-cased.
PACKER_SECTIONS = {
    "upx0": "UPX", "upx1": "UPX", "upx2": "UPX", "upx!": "UPX", ".upx": "UPX",
    ".aspack": "ASPack", ".adata": "ASPack", ".mpress1": "MPRESS", ".mpress2": "MPRESS",
    ".petite": "Petite", ".nsp0": "NsPack", ".nsp1": "NsPack", ".nsp2": "NsPack",
    ".themida": "Themida", ".winlice": "Themida", ".vmp0": "VMProtect", ".vmp1": "VMProtect",
    ".vmp2": "VMProtect", ".enigma1": "Enigma", ".enigma2": "Enigma", "pec2": "PECompact",
    "pecompact2": "PECompact", ".rlpack": "RLPack", ".packed": "RLPack", "fsg!": "FSG",
    ".mew": "MEW", ".yp": "Y0da Protector", ".perplex": "Perplex", "bitarts": "Crunch",
    ".spack": "Simple Pack", ".ccg": "CCG", ".boom": "Boomerang", "kkrunchy": "kkrunchy",
}
HIGH_ENTROPY = 7.2
FEW_IMPORTS = 10


def section_name(section):
    return section.Name.rstrip(b"\0").decode("latin-1")


def packer_hints(pe, import_count):
    """(packer tag value, evidence) pairs: known section names, and high entropy with few imports."""
    hints = []
    for section in pe.sections:
        packer = PACKER_SECTIONS.get(section_name(section).lower())
        if packer:
            hints.append((packer, "section %s is named as %s names its sections" % (section_name(section), packer)))
    dense = [(section_name(s), s.get_entropy()) for s in pe.sections if s.SizeOfRawData >= 1024]
    dense = [(n, e) for n, e in dense if e >= HIGH_ENTROPY]
    if dense and import_count <= FEW_IMPORTS:
        hints.append(("unknown", "high entropy (%s) with %d imported function%s" % (
            ", ".join("%s %.2f" % d for d in dense), import_count, "" if import_count == 1 else "s")))
    for section in pe.sections:
        executable = section.Characteristics & 0x20000000
        if executable and section.SizeOfRawData == 0 and section.Misc_VirtualSize > 0:
            hints.append(("unknown", "executable section %s has no data in the file but %d bytes in memory"
                          % (section_name(section), section.Misc_VirtualSize)))
    return hints


def certificate_table(pe, size):
    """(offset, length) of the Authenticode certificate table in the file, or None."""
    directories = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    index = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_SECURITY"]
    if index >= len(directories):  # NumberOfRvaAndSizes stops before it: no certificate table
        return None
    entry = directories[index]
    if entry.VirtualAddress and entry.Size:  # a file offset, not an RVA
        return entry.VirtualAddress, min(entry.Size, max(0, size - entry.VirtualAddress))
    return None


def certificates(blob):
    """The certificates of each WIN_CERTIFICATE in the table: rows of (subject, issuer, serial, valid from, valid to)."""
    from cryptography.hazmat.primitives.serialization import pkcs7

    rows, at = [], 0
    while at + 8 <= len(blob):
        length = int.from_bytes(blob[at:at + 4], "little")
        kind = int.from_bytes(blob[at + 6:at + 8], "little")
        if length < 8:
            break
        if kind == 2:  # WIN_CERT_TYPE_PKCS_SIGNED_DATA
            for cert in pkcs7.load_der_pkcs7_certificates(blob[at + 8:at + length]):
                rows.append([cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), "%x" % cert.serial_number,
                             cert.not_valid_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             cert.not_valid_after.strftime("%Y-%m-%dT%H:%M:%SZ")])
        at += (length + 7) // 8 * 8
    return rows


def overlay_extent(pe, size, certs):
    """(start, end) of the data appended after the last section, the certificate table left out; None if none."""
    start = pe.get_overlay_data_start_offset()
    if start is None or start >= size:
        return None
    end = size
    if certs:
        offset, length = certs
        if offset <= start < offset + length:
            start = (offset + length + 7) // 8 * 8
        elif start < offset:
            end = offset
    return (start, end) if start < end else None


def resources(pe, data):
    """Rows of (type, name, language, offset, size, entropy, starts with) for every resource."""
    rows = []

    def label(entry, table=None):
        if entry.name is not None:
            return str(entry.name)
        return (table or {}).get(entry.id, str(entry.id))

    for kind in getattr(getattr(pe, "DIRECTORY_ENTRY_RESOURCE", None), "entries", []):
        for name in getattr(getattr(kind, "directory", None), "entries", []):
            for lang in getattr(getattr(name, "directory", None), "entries", []):
                entry = getattr(lang, "data", None)
                if entry is None:
                    continue
                offset = pe.get_offset_from_rva(entry.struct.OffsetToData)
                body = data[offset:offset + entry.struct.Size] if offset is not None else b""
                rows.append([label(kind, pefile.RESOURCE_TYPE), label(name), pefile.LANG.get(entry.lang, str(entry.lang)),
                             "0x%x" % (offset or 0), str(entry.struct.Size), "%.2f" % entropy(body), body[:8].hex()])
    return rows


def entropy(data):
    """Shannon entropy in bits per byte."""
    if not data:
        return 0.0
    return -sum(c / len(data) * math.log2(c / len(data)) for c in collections.Counter(data).values())


def iso(stamp):
    return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
