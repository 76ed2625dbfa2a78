#!/opt/strings/bin/python3 -IB
"""strings engine: the strings of $MENAGERIE_MOUNTPOINT/$MENAGERIE_INPUT, and the indicators in them.

A PE file of at most FLOSS_MAX_BYTES goes to FLOSS (static, stack, tight and
decoded strings, and Go/Rust strings), which has FLOSS_TIMEOUT seconds; any
other file, or a PE that FLOSS cannot finish (too large, out of time, failed),
gets plain static strings (ASCII and UTF-16LE runs), and the report says
which and why. URLs, domains, IPv4 addresses and e-mail addresses in every
string become ioc.* tags (menagerie_report.tag_iocs, each value once); stack,
tight and decoded strings are tags too (floss.stack_string, ...).
result: FLOSS's JSON, or, for static strings, a JSON list of them.
"""
import itertools
import json
import os
import re
import subprocess

from menagerie_report import LIMITS, Report, iocs, tag_iocs

FLOSS = "/opt/strings/bin/floss"
FLOSS_MAX_BYTES = 16 * 1024 * 1024  # FLOSS's own bound without --large-file
FLOSS_TIMEOUT = 150
MIN_LENGTH = 4
MAX_STATIC = 200_000  # static strings kept of each encoding: bounds the memory on a file of nothing but short strings
ASCII = re.compile(rb"[\x20-\x7e\t]{%d,}" % MIN_LENGTH)
UTF16 = re.compile(rb"(?:[\x20-\x7e\t]\x00){%d,}" % MIN_LENGTH)
FLOSS_KINDS = [("stack_strings", "Stack strings", "floss.stack_string"), ("tight_strings", "Tight strings", "floss.tight_string"),
               ("decoded_strings", "Decoded strings", "floss.decoded_string"), ("language_strings", "Language strings", None)]


def is_pe(data):
    if len(data) < 64 or data[:2] != b"MZ":
        return False
    at = int.from_bytes(data[60:64], "little")
    return data[at:at + 4] == b"PE\0\0"


def static_strings(r, data):
    """(offset, encoding, string) of the printable ASCII and UTF-16LE runs (the first MAX_STATIC of each), in file order."""
    found = []
    for pattern, encoding in ((ASCII, "ascii"), (UTF16, "utf-16-le")):
        runs = [(m.start(), "ASCII" if encoding == "ascii" else "UTF-16LE", m.group().decode(encoding))
                for m in itertools.islice(pattern.finditer(data), MAX_STATIC + 1)]
        if len(runs) > MAX_STATIC:
            r.note("more than %d %s strings: the first %d were kept" % (MAX_STATIC, runs[0][1], MAX_STATIC))
            runs = runs[:MAX_STATIC]
        found += runs
    return sorted(found)


def run_floss(r, path):
    """FLOSS's JSON document, or (None, why not)."""
    env = dict(os.environ, USER="engine", LOGNAME="engine", HOME="/tmp")  # the uid has no passwd entry
    argv = [FLOSS, "--json", "--quiet", "--disable-progress", "-n", str(MIN_LENGTH), path]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=FLOSS_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return None, "FLOSS did not finish within %d seconds" % FLOSS_TIMEOUT
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        return None, "FLOSS failed (exit %d): %s" % (done.returncode, " / ".join(tail) or "no message")
    try:
        return json.loads(done.stdout), None
    except ValueError as err:
        return None, "FLOSS's output is not JSON: %s" % err


def static_text(rows):
    """The static strings as lines "offset encoding string", within a text section's bound."""
    lines, size, kept = [], 0, 0
    for offset, encoding, value in rows:
        line = "0x%08x %-8s %s" % (offset, encoding, value.replace("\n", "\\n"))
        size += len(line) + 1
        if size > LIMITS["text"] - 200:
            break
        lines.append(line)
        kept += 1
    return "\n".join(lines), kept


def report_floss(r, doc):
    strings = doc.get("strings", {})
    everything, counts = [], {}
    static = [(s.get("offset", 0), s.get("encoding", ""), s.get("string", "")) for s in strings.get("static_strings", [])]
    counts["static"] = len(static)
    everything += [s for _, _, s in static]
    for key, title, tag in FLOSS_KINDS:
        items = strings.get(key, [])
        counts[key.split("_")[0]] = len(items)
        if not items:
            continue
        rows = [[s.get("string", ""), s.get("encoding", ""), hex(s.get("function", s.get("decoding_routine", s.get("offset", 0))) or 0)]
                for s in items]
        r.table(title, ["string", "encoding", "function" if key != "language_strings" else "offset"], rows)
        for s in items:
            everything.append(s.get("string", ""))
            if tag:
                r.tag(tag, s.get("string", ""))
    runtime = doc.get("metadata", {}).get("runtime", {})
    meta = doc.get("metadata", {})
    fields = [("Method", "FLOSS %s" % meta.get("version", "")), ("Minimum length", str(meta.get("min_length", MIN_LENGTH))),
              ("Language", " ".join(v for v in (meta.get("language"), meta.get("language_version")) if v and "unknown" not in v)
               or "unknown"),
              ("FLOSS time", "%.1f s" % runtime.get("total", 0))]
    fields += [("%s strings" % k.capitalize(), str(v)) for k, v in counts.items()]
    return fields, static, everything, counts


def main():
    r = Report("strings")
    data = r.read_input()
    doc, why = None, None
    if not is_pe(data):
        why = "not a PE file: plain static strings"
    elif len(data) > FLOSS_MAX_BYTES:
        why = "FLOSS skipped: the file is %d bytes, more than its bound of %d" % (len(data), FLOSS_MAX_BYTES)
    else:
        r.log("FLOSS on %d bytes (at most %d s)" % (len(data), FLOSS_TIMEOUT))
        doc, why = run_floss(r, r.input_path)
        if why:
            why += "; plain static strings instead"
    if doc is not None:
        fields, static, everything, counts = report_floss(r, doc)
        result = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        described = "FLOSS: " + ", ".join("%d %s" % (v, k) for k, v in counts.items() if v or k == "static") + " strings"
    else:
        static = static_strings(r, data)
        everything = [s for _, _, s in static]
        fields = [("Method", "static strings (ASCII and UTF-16LE)"), ("Why", why), ("Minimum length", str(MIN_LENGTH)),
                  ("ASCII strings", str(sum(1 for s in static if s[1] == "ASCII"))),
                  ("UTF-16LE strings", str(sum(1 for s in static if s[1] != "ASCII")))]
        result = json.dumps([{"offset": o, "encoding": e, "string": s} for o, e, s in static], ensure_ascii=False).encode("utf-8")
        described = "%d static strings (%s)" % (len(static), why)
        if why.startswith("FLOSS"):
            r.note(why)
    text, kept = static_text(static)
    if kept < len(static):
        r.note("Static strings: the first %d of %d are shown; the result has them all" % (kept, len(static)))
    found = iocs("\n".join(everything))
    counts = tag_iocs(r, "\n".join(everything))
    tally = ", ".join("%s: %d" % (k.split(".")[1], v) for k, v in sorted(counts.items()))
    fields.append(("Indicators", tally or "none"))
    r.kv("Extraction", fields)
    if found:
        r.table("Indicators", ["kind", "value"], [[k.split(".")[1], v] for k, v in found])
    r.text("Static strings", text)
    r.summary = "%s; %s" % (described, "indicators (%s)" % tally if counts else "no indicators")
    r.finish(result=result)


if __name__ == "__main__":
    main()
