"""The report writer of Menagerie's Python engines: menagerie.report/1.

An engine reads its input, fills a Report and calls finish(), which writes
report.json and then the result (each written aside and renamed, the result
last, so that a failed run leaves no result). The format is
schemas/report.schema.json in the repository; the worker validates every
report against it. This writer keeps within its bounds (it cuts what is too
long, and says so in the report), so that an engine never fails on the
size of what it found.

    from menagerie_report import Report, fail
    r = Report("pe")
    data = r.read_input()
    r.summary = "PE32 executable, 3 sections"
    r.tag("hash.imphash", imphash)
    r.kv("Headers", [("Machine", "I386"), ("Compiled", "2026-12-08T00:00:00Z")])
    r.table("Sections", ["name", "size", "entropy"], rows)
    r.verdict("suspicious", "packed with UPX")
    path = r.child_path("overlay.bin")     # a file to extract, inside the job directory
    r.child(path, "overlay")
    r.finish(result=r.as_result())       # the result: JSON of the whole report, or bytes of its own

Exit codes: 2 for a missing input or an unwritable mountpoint, 3 and up for
analysis failures (fail()).
"""
import ipaddress
import json
import os
import re
import sys

SCHEMA = "menagerie.report/1"
VERDICTS = ("malicious", "suspicious", "informational", "clean")

# The bounds of libs/engines/src/report.schema.ts (REPORT_LIMITS).
LIMITS = {
    "summary": 300,
    "reason": 300,
    "tags": 2000,
    "tag_value": 1024,
    "sections": 64,
    "title": 200,
    "key": 200,
    "cell": 4096,
    "fields": 500,
    "columns": 32,
    "rows": 2000,
    "text": 256 * 1024,
    "children": 1000,
    "child_name": 1024,
}
TAG_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
RELATION = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
CHILDREN_DIR = "children"


def log(engine, message):
    print("[%s] %s" % (engine, message), flush=True)


def fail(code, message):
    """Ends the run: an ERROR line in the job's log, exit `code` (2: the input or mountpoint, 3+: the analysis)."""
    print("ERROR: %s" % message, file=sys.stderr, flush=True)
    sys.exit(code)


def cut(value, limit):
    value = str(value)
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def one_line(value, limit):
    return cut(" ".join(str(value).split()), limit)


class Report:
    def __init__(self, engine):
        self.engine = engine
        self.mountpoint = os.environ.get("MENAGERIE_MOUNTPOINT") or "/var/data"
        self.input_name = os.environ.get("MENAGERIE_INPUT") or "input"
        self.input_path = os.path.join(self.mountpoint, self.input_name)
        self.summary = ""
        self._verdict = None
        self._tags = []
        self._seen_tags = set()
        self._sections = []
        self._children = []
        self._notes = []
        if not os.path.isfile(self.input_path):
            fail(2, "input %s does not exist or is not a regular file" % self.input_path)
        if not os.access(self.mountpoint, os.W_OK):
            fail(2, "mountpoint %s is not writable by uid %d" % (self.mountpoint, os.getuid()))

    def log(self, message):
        log(self.engine, message)

    def read_input(self):
        with open(self.input_path, "rb") as f:
            return f.read()

    def note(self, message):
        """Something the reader should know about the report itself (a bound hit, a part skipped)."""
        self._notes.append(one_line(message, LIMITS["cell"]))

    def verdict(self, value, reason):
        if value not in VERDICTS:
            raise ValueError("verdict must be one of %s" % ", ".join(VERDICTS))
        self._verdict = {"value": value, "reason": one_line(reason, LIMITS["reason"]) or value}

    def tag(self, type_, value):
        """A typed value (yara.rule, ioc.url, hash.imphash, ...), each (type, value) once."""
        if not TAG_TYPE.match(type_):
            raise ValueError("not a tag type: %r" % type_)
        value = cut(value, LIMITS["tag_value"])
        if not value or (type_, value) in self._seen_tags:
            return
        if len(self._tags) >= LIMITS["tags"]:
            if len(self._tags) == LIMITS["tags"]:
                self.note("more than %d tags; the rest were left out" % LIMITS["tags"])
                self._tags.append(None)  # noted once
            return
        self._seen_tags.add((type_, value))
        self._tags.append({"type": type_, "value": value})

    def _section(self, section):
        if len(self._sections) >= LIMITS["sections"] - 1:  # one is kept for the notes
            self.note("more than %d sections; %r was left out" % (LIMITS["sections"] - 1, section["title"]))
            return
        self._sections.append(section)

    def kv(self, title, fields):
        """A key-value section: a dict, or (key, value) pairs in order."""
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if len(pairs) > LIMITS["fields"]:
            self.note("%s: %d fields, the first %d kept" % (title, len(pairs), LIMITS["fields"]))
            pairs = pairs[: LIMITS["fields"]]
        self._section({
            "kind": "kv",
            "title": cut(title, LIMITS["title"]),
            "fields": [[cut(k, LIMITS["key"]) or "-", cut("" if v is None else v, LIMITS["cell"])] for k, v in pairs],
        })

    def table(self, title, columns, rows):
        columns = [cut(c, LIMITS["key"]) for c in columns][: LIMITS["columns"]]
        rows = list(rows)
        if len(rows) > LIMITS["rows"]:
            self.note("%s: %d rows, the first %d kept" % (title, len(rows), LIMITS["rows"]))
            rows = rows[: LIMITS["rows"]]
        cells = [[cut("" if v is None else v, LIMITS["cell"]) for v in list(row)[: len(columns)]] for row in rows]
        cells = [row + [""] * (len(columns) - len(row)) for row in cells]
        self._section({"kind": "table", "title": cut(title, LIMITS["title"]), "columns": columns, "rows": cells})

    def text(self, title, body):
        self._section({"kind": "text", "title": cut(title, LIMITS["title"]), "text": cut(body, LIMITS["text"])})

    def child_path(self, name):
        """A fresh path under <mountpoint>/children/ to extract a file to (its name made safe)."""
        directory = os.path.join(self.mountpoint, CHILDREN_DIR)
        os.makedirs(directory, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(name)).lstrip("._")[:100] or "file"
        candidate, n = os.path.join(directory, safe), 1
        while os.path.lexists(candidate):
            n += 1
            candidate = os.path.join(directory, "%d-%s" % (n, safe))
        return candidate

    def child(self, path, relation, name=None):
        """A file the engine extracted (a path inside the job directory) and why: extracted, attachment, embedded, dex, ..."""
        if not RELATION.match(relation):
            raise ValueError("not a relation: %r" % relation)
        rel = os.path.relpath(os.path.realpath(path), os.path.realpath(self.mountpoint))
        if rel.startswith("..") or rel in ("result", "report.json") or not os.path.isfile(path) or os.path.islink(path):
            raise ValueError("a child must be a regular file inside the job directory: %r" % path)
        if len(self._children) >= LIMITS["children"]:
            self.note("more than %d children; %s was left out" % (LIMITS["children"], rel))
            os.unlink(path)
            return
        entry = {"path": rel, "relation": relation}
        if name:
            entry["name"] = cut(name, LIMITS["child_name"])
        self._children.append(entry)

    def as_dict(self):
        sections = list(self._sections)
        if self._notes:
            sections.append({"kind": "text", "title": "Notes", "text": cut("\n".join(self._notes), LIMITS["text"])})
        report = {
            "schema": SCHEMA,
            "summary": one_line(self.summary, LIMITS["summary"]),
            "tags": [t for t in self._tags if t is not None],
            "sections": sections,
            "children": self._children,
        }
        if self._verdict:
            report["verdict"] = self._verdict
        return report

    def as_result(self):
        """The default result: the report itself, as JSON."""
        return self.as_dict()

    def _write(self, name, data):
        target = os.path.join(self.mountpoint, name)
        partial = target + ".partial"
        with open(partial, "wb") as f:
            f.write(data)
        os.replace(partial, target)

    def finish(self, result=None):
        """Writes report.json, then the result (bytes, or JSON of any other value; default: the report)."""
        report = self.as_dict()
        self._write("report.json", json.dumps(report, ensure_ascii=False).encode("utf-8"))
        if result is None:
            result = report
        body = result if isinstance(result, (bytes, bytearray)) else json.dumps(result, ensure_ascii=False, indent=1).encode("utf-8")
        self._write("result", bytes(body))
        self.log("done: %s" % report["summary"])


# Indicators in text, each kind de-duplicated by the caller's Report.tag.
_URL = re.compile(r"\b(?:https?|ftp)://[^\s\"'<>()\[\]{}\\^`|]{2,2000}", re.I)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b")
_DOMAIN = re.compile(r"\b(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}(?:[A-Za-z]{2,24})\b")
_IPV4 = re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b")
# Top-level domains seen in malware's strings; a bare "name.ext" of a file is not a domain.
_TLDS = set(
    "com net org info biz io co ru cn de uk fr jp br in it nl pl es au ca ch se no fi dk be at cz su tk top xyz "
    "online site club me tv cc ws pw us eu onion local lan int gov edu mil app dev cloud link live".split()
)


def iocs(text):
    """URLs, domains, IPv4 addresses and e-mail addresses in `text`, as (tag type, value) pairs, each once."""
    found, seen = [], set()

    def add(kind, value):
        if (kind, value) not in seen:
            seen.add((kind, value))
            found.append((kind, value))

    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:'\"")
        add("ioc.url", url)
        host = re.sub(r"^[a-z]+://", "", url, flags=re.I).split("/")[0].split(":")[0].split("@")[-1].lower()
        if _IPV4.fullmatch(host):
            add("ioc.ip", host)
        elif host.rsplit(".", 1)[-1] in _TLDS:
            add("ioc.domain", host)
    for m in _EMAIL.finditer(text):
        add("ioc.email", m.group(0).lower())
    for m in _IPV4.finditer(text):
        ip = m.group(0)
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            continue
        if not (address.is_loopback or address.is_unspecified or address.is_multicast or ip.startswith("255.")):
            add("ioc.ip", ip)
    for m in _DOMAIN.finditer(text):
        domain = m.group(0).lower()
        if domain.rsplit(".", 1)[-1] in _TLDS and not _IPV4.fullmatch(domain):
            add("ioc.domain", domain)
    return found


def tag_iocs(report, text):
    """Every indicator in `text` as a tag of `report`; answers how many of each kind."""
    counts = {}
    for kind, value in iocs(text):
        report.tag(kind, value)
        counts[kind] = counts.get(kind, 0) + 1
    return counts
