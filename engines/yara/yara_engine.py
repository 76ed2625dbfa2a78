#!/usr/bin/python3 -B
"""yara engine: the rules of the bundle mounted at /rules (every *.yar and
*.yara, compiled together) matched against the input.

Report: each matched rule (tag yara.rule), its tags (yara.tag) and meta, and
every string match with its offset and a preview of its data. A rule whose
meta says verdict = "malicious" or "suspicious" sets that verdict (the worst
one wins); any other match is informational. No match gives no verdict:
yara cannot say that a file is clean. Result: the matches as JSON.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

import yara  # noqa: E402
from menagerie_report import Report, fail  # noqa: E402
from rulesdir import RULES, compile_rules, rule_files  # noqa: E402

TIMEOUT = 120
PREVIEW = 64
MAX_RESULT_STRINGS = 100000
RANK = {"malicious": 0, "suspicious": 1}


def preview(data):
    """A string match's data, as text when it is printable ASCII, else as hex; at most PREVIEW bytes."""
    head = data[:PREVIEW]
    more = "\u2026" if len(data) > PREVIEW else ""
    if all(32 <= b < 127 for b in head):
        return head.decode("ascii") + more
    return head.hex(" ") + more


def meta_text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def main():
    r = Report("yara")
    files = rule_files(RULES)
    if not files:
        r.summary = "no yara rules mounted at %s: nothing was matched" % RULES
        r.kv("Rules", [("Bundle", "none mounted (no *.yar or *.yara under %s)" % RULES)])
        r.finish(result={"rule_files": [], "matches": []})
        return
    try:
        rules = compile_rules(files)
    except yara.Error as e:
        fail(3, "the rules under %s do not compile: %s" % (RULES, e))
    compiled = sum(1 for _ in rules)
    try:
        matches = rules.match(r.input_path, timeout=TIMEOUT)
    except yara.TimeoutError:
        fail(3, "yara did not finish within %d s" % TIMEOUT)
    except yara.Error as e:
        fail(3, "yara could not scan the input: %s" % e)

    verdicts = []
    match_rows, meta_rows, string_rows, result = [], [], [], []
    for m in matches:
        r.tag("yara.rule", m.rule)
        for t in m.tags:
            r.tag("yara.tag", t)
        meta = {k: meta_text(v) for k, v in m.meta.items()}
        said = meta.get("verdict", "").strip().lower()
        if said in RANK:
            verdicts.append((RANK[said], said, m.rule))
        match_rows.append([m.rule, m.namespace, " ".join(m.tags), str(len(m.strings))])
        meta_rows += [[m.rule, k, v] for k, v in meta.items()]
        string_rows += [[m.rule, ident, str(offset), "0x%x" % offset, preview(data)] for offset, ident, data in m.strings]
        result.append({
            "rule": m.rule,
            "namespace": m.namespace,
            "tags": list(m.tags),
            "meta": meta,
            "strings": [{"offset": o, "identifier": i, "data": d.hex()} for o, i, d in m.strings[:MAX_RESULT_STRINGS]],
        })

    r.kv("Rules", [("Rule files", str(len(files))), ("Rules compiled", str(compiled)), ("Rules matched", str(len(matches)))])
    if matches:
        r.table("Matches", ["rule", "namespace", "tags", "strings matched"], match_rows)
        if meta_rows:
            r.table("Meta", ["rule", "key", "value"], meta_rows)
        if string_rows:
            r.table("Strings", ["rule", "string", "offset", "offset (hex)", "data"], string_rows)
    names = [m.rule for m in matches]
    if verdicts:
        _, worst, rule = min(verdicts)
        r.verdict(worst, "yara rule %s says %s" % (rule, worst))
    elif matches:
        r.verdict("informational", "matched %s, whose meta gives no verdict" % ", ".join(names))
    r.summary = ("%d of %d rules matched: %s" % (len(matches), compiled, ", ".join(names))) if matches else "no rule of %d matched" % compiled
    r.finish(result={"rule_files": [rel for rel, _ in files], "matches": result})


if __name__ == "__main__":
    main()
