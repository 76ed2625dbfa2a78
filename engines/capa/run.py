#!/opt/capa/bin/python
"""The capa engine: the capabilities of a PE or ELF file, by the rules of the
data bundle mounted at $CAPA_RULES (default /rules).

It runs capa (PyPI flare-capa, its vivisect backend) as `capa -j -r RULES -s
SIGS input` within $CAPA_TIMEOUT seconds (default 240): capa's analysis of a
large file can take longer than the job may, and a run past that is ended and
said in the report. SIGS is an empty directory: capa ships no FLIRT
signatures on PyPI, so library functions are not told apart from the
program's own (a capability found in statically linked library code is
reported like any other).

The report: each capability (tag capa.capability: the rule's name), its
namespace (capa.namespace), its ATT&CK and MBC ids (capa.attack, capa.mbc),
and a table of the capabilities with where they matched. The result is capa's
own JSON document.
"""
import json
import os
import re
import subprocess
import sys
import time

from menagerie_report import Report, fail

import rules_bundle

CAPA = "/opt/capa/bin/capa"
SIGNATURES = "/engine/sigs"
RULES = os.environ.get("CAPA_RULES") or "/rules"
TIMEOUT = int(os.environ.get("CAPA_TIMEOUT") or 240)
# capa's exit codes (capa/main.py) for a file it cannot analyse: a report that says so.
CANNOT = {
    13: "a corrupt file",
    14: "a file limitation",
    16: "an unsupported file type",
    17: "an unsupported architecture",
    18: "an unsupported operating system",
    23: "an empty report",
    25: "an unsupported input format",
}
LOG_LINE = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+(?:[\w.]+:\s)?(.*?)(?:\s+[\w.]+\.py:\d+)?\s*$")
MAX_LOCATIONS = 50


def capa_messages(stderr):
    """capa's WARNING and ERROR log records (rich's format, one line each as COLUMNS is wide), rule lines dropped."""
    messages = []
    for line in stderr.splitlines():
        m = LOG_LINE.match(line)
        if m and m.group(1) in ("WARNING", "ERROR", "CRITICAL"):
            text = m.group(2).strip()
            if text and not set(text) <= set("- "):
                messages.append(text)
        elif messages and line.startswith(" ") and line.strip():
            messages[-1] += " " + line.strip()
    return messages


def location(address):
    """A match's address as a person reads it: 0x401176 (a virtual address), file (the file scope), ..."""
    kind, value = address.get("type"), address.get("value")
    if kind == "absolute":
        return "0x%x" % value
    if kind == "relative":
        return "base+0x%x" % value
    if kind == "file":
        return "file+0x%x" % value
    if kind == "no address":
        return "file"
    return "%s %s" % (kind, json.dumps(value, separators=(",", ":")))


def is_capability(meta):
    """capa's own choice (capa/render/utils.py): no library, internal or subscope rules."""
    return not (meta.get("lib") or meta.get("is_subscope_rule") or (meta.get("namespace") or "").startswith("internal/"))


def ids(entries):
    return [e["id"] for e in entries if e.get("id")]


def spelled(entries):
    """ATT&CK or MBC entries as capa's rules spell them: Discovery::System Information Discovery [T1082]."""
    return "; ".join("%s [%s]" % ("::".join(e.get("parts") or []), e["id"]) if e.get("id") else "::".join(e.get("parts") or []) for e in entries)


def analysis_fields(r, size, rules_count, seconds, doc=None):
    fields = []
    if doc:
        analysis = doc["meta"].get("analysis", {})
        fields += [
            ("capa", doc["meta"].get("version", "")),
            ("Format", analysis.get("format", "")),
            ("Architecture", analysis.get("arch", "")),
            ("OS", analysis.get("os", "")),
            ("Extractor", analysis.get("extractor", "")),
            ("Base address", location(analysis.get("base_address") or {"type": "no address"})),
            ("Functions analysed", str(len((analysis.get("feature_counts") or {}).get("functions") or []))),
        ]
    fields += [
        ("Size", "%d bytes" % size),
        ("Rules", "%d loaded from the bundle at %s" % (rules_count, RULES)),
        ("Library identification", "none: no FLIRT signatures (library code is analysed like the program's own)"),
        ("Time limit", "%d s" % TIMEOUT),
        ("Time taken", "%.1f s" % seconds),
    ]
    r.kv("Analysis", fields)


def report_capabilities(r, doc):
    rows, names, limitations = [], [], []
    for name, match in sorted(doc.get("rules", {}).items(), key=lambda kv: ((kv[1]["meta"].get("namespace") or ""), kv[0])):
        meta = match["meta"]
        if (meta.get("namespace") or "").startswith("internal/limitation"):
            limitations.append("%s (rule %s)" % (" ".join((meta.get("description") or "").split()), name))
            continue
        if not is_capability(meta):
            continue
        names.append(name)
        attack, mbc = meta.get("attack") or [], meta.get("mbc") or []
        r.tag("capa.capability", name)
        if meta.get("namespace"):
            r.tag("capa.namespace", meta["namespace"])
        for i in ids(attack):
            r.tag("capa.attack", i)
        for i in ids(mbc):
            r.tag("capa.mbc", i)
        where = [location(address) for address, _ in match.get("matches") or []]
        shown = ", ".join(where[:MAX_LOCATIONS]) + (" (and %d more)" % (len(where) - MAX_LOCATIONS) if len(where) > MAX_LOCATIONS else "")
        scopes = meta.get("scopes") or {}
        scope = scopes.get(doc["meta"].get("flavor", "static")) or scopes.get("static") or ""
        rows.append([name, meta.get("namespace") or "", spelled(attack), spelled(mbc), scope, str(len(where)), shown])
    r.table("Capabilities", ["capability", "namespace", "ATT&CK", "MBC", "scope", "matches", "locations"], rows)
    for limitation in limitations:
        r.note("capa's limitation: %s" % limitation)
    return names


def main():
    r = Report("capa")
    size = os.path.getsize(r.input_path)
    try:
        have_rules = bool(rules_bundle.rule_files(RULES))
    except OSError:
        have_rules = False
    if not have_rules:
        r.summary = "no capa rules mounted at %s: nothing was matched" % RULES
        r.text("Rules", "The engine's rules bundle is empty or not mounted. Push one: menagerie data push capa rules <dir of capa rules>.")
        r.finish()
        return 0
    try:
        ruleset = rules_bundle.load(RULES)
    except rules_bundle.BadBundle as e:
        fail(3, "the rules bundle at %s does not load: %s" % (RULES, e))
    rules_count = len(rules_bundle.rule_names(ruleset))

    env = dict(os.environ, COLUMNS="10000", XDG_CACHE_HOME=str(rules_bundle.cache_dir()), CAPA_SAVE_WORKSPACE="0")
    command = [CAPA, "-j", "-r", RULES, "-s", SIGNATURES, r.input_path]
    r.log("%s (time limit %d s)" % (" ".join(command), TIMEOUT))
    start = time.monotonic()
    try:
        run = subprocess.run(command, env=env, capture_output=True, timeout=TIMEOUT, cwd="/tmp")
    except subprocess.TimeoutExpired:
        seconds = time.monotonic() - start
        r.summary = "capa's analysis did not finish within %d s: no capabilities reported" % TIMEOUT
        r.note("capa was stopped after %d s (CAPA_TIMEOUT); a large or complex file needs more time than the engine allows" % TIMEOUT)
        analysis_fields(r, size, rules_count, seconds)
        r.finish()
        return 0
    seconds = time.monotonic() - start
    stderr = run.stderr.decode("utf-8", "replace")
    messages = capa_messages(stderr)
    if run.returncode in CANNOT:
        reason = messages[0] if messages else CANNOT[run.returncode]
        r.summary = "capa cannot analyse this file (%s): %s" % (CANNOT[run.returncode], reason)
        analysis_fields(r, size, rules_count, seconds)
        r.text("capa's messages", "\n".join(messages) or reason)
        r.finish()
        return 0
    if run.returncode != 0:
        sys.stderr.write(stderr[-4000:])
        if run.returncode < 0:
            fail(3, "capa was killed by signal %d%s" % (-run.returncode, " (out of memory?)" if run.returncode == -9 else ""))
        fail(3, "capa exited with %d: %s" % (run.returncode, "; ".join(messages[-3:]) or "no message"))
    try:
        doc = json.loads(run.stdout)
    except ValueError as e:
        fail(3, "capa's output is not JSON: %s" % e)

    analysis_fields(r, size, rules_count, seconds, doc)
    names = report_capabilities(r, doc)
    for message in messages:
        r.note("capa: %s" % message)
    analysis = doc["meta"].get("analysis", {})
    what = "%s (%s, %s)" % (analysis.get("format", "file").upper(), analysis.get("arch", "?"), analysis.get("os", "?"))
    if names:
        attack = sorted({t for n in names for t in ids(doc["rules"][n]["meta"].get("attack") or [])})
        r.summary = "%d capabilit%s in a %s: %s%s" % (
            len(names), "y" if len(names) == 1 else "ies", what, ", ".join(names[:8]) + (", ..." if len(names) > 8 else ""),
            "; ATT&CK " + ", ".join(attack) if attack else "",
        )
    else:
        r.summary = "no capabilities found in a %s by %d rules" % (what, rules_count)
    r.finish(result=run.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
