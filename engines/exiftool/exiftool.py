#!/usr/bin/python3 -IB
"""exiftool engine: the metadata of $MENAGERIE_MOUNTPOINT/$MENAGERIE_INPUT.

Runs `exiftool -json -a -u -G0:1` and writes one key-value section per family
0 group (File, EXIF, XMP, IPTC, ICC_Profile, PDF, ZIP, ...), each key being
the family 1 group and the tag name ("IFD0:Artist", "XMP-dc:Creator").
Authors and the software that made the file become tags (exif.author,
exif.software), ExifTool's warnings and errors notes. A file ExifTool does
not know is still reported (its File group, and ExifTool's error).
result: ExifTool's own JSON.
"""
import json
import subprocess

from menagerie_report import Report, fail

TIMEOUT = 45
AUTHOR_TAGS = {"Artist", "Author", "Creator", "By-line", "LastModifiedBy", "OwnerName"}
SOFTWARE_TAGS = {"Software", "CreatorTool", "Producer", "Application", "HistorySoftwareAgent", "AppVersion"}
FIRST_GROUPS = ["File", "EXIF", "XMP", "IPTC", "MakerNotes", "Composite"]


def text(value):
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def main():
    r = Report("exiftool")
    # --System:all: the job directory's name, dates and modes are not the file's (and would vary by run).
    argv = ["exiftool", "-json", "-a", "-u", "-G0:1", "--System:all", "-api", "LargeFileSupport=1", r.input_path]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail(3, "exiftool did not finish within %d seconds" % TIMEOUT)
    try:
        found = json.loads(done.stdout.decode("utf-8", "replace") or "[]")
    except ValueError:
        fail(3, "exiftool's output is not JSON (exit %d): %s" % (done.returncode, done.stderr.decode("utf-8", "replace")[:500]))
    if not found:
        fail(3, "exiftool said nothing (exit %d): %s" % (done.returncode, done.stderr.decode("utf-8", "replace")[:500]))
    tags = found[0]

    groups = {}
    for key, value in tags.items():
        if key == "SourceFile":
            continue
        # "EXIF:IFD0:Artist"; "File:FileType" where the family 1 group is the family 0 one.
        family0, _, rest = key.partition(":")
        if ":" not in rest:
            rest = "%s:%s" % (family0, rest)
        name = rest.split(":")[-1]
        if family0 == "ExifTool":
            if name in ("Warning", "Error"):
                r.note("ExifTool %s: %s" % (name.lower(), text(value)))
            continue
        groups.setdefault(family0, []).append((rest, text(value)))
        if name in AUTHOR_TAGS:
            r.tag("exif.author", text(value))
        elif name in SOFTWARE_TAGS:
            r.tag("exif.software", text(value))
    order = [g for g in FIRST_GROUPS if g in groups] + sorted(g for g in groups if g not in FIRST_GROUPS)
    for group in order:
        r.kv(group, groups[group])

    file_type = tags.get("File:FileType") or "unknown type"
    mime = tags.get("File:MIMEType")
    count = sum(len(fields) for fields in groups.values())
    summary = "%s%s: %d tags in %s" % (file_type, " (%s)" % mime if mime else "", count, ", ".join(order) or "no group")
    error = tags.get("ExifTool:Error")
    if error:
        summary += "; ExifTool: %s" % error
    r.summary = summary
    r.finish(result=done.stdout)


if __name__ == "__main__":
    main()
