#!/opt/office/bin/python3
"""office engine: oletools on an Office file (OLE or OOXML) or an RTF.

olevba: the VBA and XLM macros, their auto-exec and suspicious keywords
(tags office.autoexec, office.suspicious) and the IOCs it finds (ioc.*);
mraptor's verdict; oleid's indicators; embedded objects (rtfobj, oleobj),
extracted as children (relation "embedded"). The result is all of that as
JSON. A file none of them can read is a report that says so."""
import logging
import zipfile

import olefile
from menagerie_report import Report, tag_iocs
from oletools import mraptor, oleid, olevba

from office_objects import Extractor, risks

logging.disable(logging.CRITICAL)  # oletools log to the console; the report says what matters

IOC_TYPES = {"URL": "ioc.url", "IPv4 address": "ioc.ip", "E-mail address": "ioc.email", "Executable file name": "ioc.filename"}
RISKY_RELATIONSHIPS = {"attachedTemplate", "oleObject", "frame", "subDocument"}


class Unreadable(Exception):
    """A file this engine cannot analyse: what it is instead, in words for the report."""


def kind_of(data):
    if data.lstrip()[:5] == b"{\\rtf":
        return "rtf"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole"
    if data[:4] == b"PK\x03\x04":
        return "zip"
    return "other"


def run_olevba(r, path, result):
    """olevba on the file: the macros' source, the analysis table and its tags; the VBA code for mraptor."""
    parser = olevba.VBA_Parser(path)
    try:
        if parser.type == "Text":
            raise Unreadable("not an Office document or RTF (olevba would read it as plain VBA text)")
        has_vba, has_xlm = parser.detect_vba_macros(), parser.detect_xlm_macros()
        macros, analysis = [], []
        if has_vba or has_xlm:
            for _, stream, vba_filename, code in parser.extract_all_macros():
                if stream == "xlm_macro" and not has_xlm:
                    continue  # olevba's listing of an .xls's BIFF records, when it found no XLM macro
                macros.append({"stream": stream, "module": vba_filename, "code": code})
            analysis = [{"type": t, "keyword": k, "description": d} for t, k, d in parser.analyze_macros()]
        result["olevba"] = {"container": parser.type, "vba": bool(has_vba), "xlm": bool(has_xlm),
                            "macros": macros, "analysis": analysis}
    finally:
        parser.close()
    for a in analysis:
        if a["type"] == "AutoExec":
            r.tag("office.autoexec", a["keyword"])
        elif a["type"] == "Suspicious":
            r.tag("office.suspicious", a["keyword"])
        elif a["type"] == "IOC":
            kind = IOC_TYPES.get(a["description"], "ioc.other")
            if kind == "ioc.url":
                tag_iocs(r, a["keyword"])  # the URL, and its host as ioc.domain or ioc.ip
            r.tag(kind, a["keyword"])
    if analysis:
        r.table("olevba", ["type", "keyword", "description"], [(a["type"], a["keyword"], a["description"]) for a in analysis])
    if macros:
        r.text("Macro source", "\n\n".join("' ---- %s (%s)\n%s" % (m["module"], m["stream"], m["code"]) for m in macros))
    return result["olevba"]


def run_mraptor(r, found, result):
    """mraptor on all the macros: SUSPICIOUS when auto-exec meets write or execute (or XLM macros)."""
    code = "\n".join(m["code"] for m in found["macros"] if m["stream"] != "xlm_macro")
    m = mraptor.MacroRaptor(code)
    m.scan()
    if found["xlm"]:
        verdict, reason = "SUSPICIOUS", "Excel 4 (XLM) macros"
    elif not found["macros"]:
        verdict, reason = "No Macro", ""
    elif m.suspicious:
        verdict = "SUSPICIOUS"
        reason = "auto-exec %s with %s" % (m.autoexec_match, " and ".join(
            "%s %s" % (what, match) for what, match in (("write", m.write_match), ("execute", m.execute_match)) if match))
    else:
        verdict, reason = "Macro OK", ""
    result["mraptor"] = {"result": verdict, "flags": m.get_flags(), "autoexec": m.autoexec_match,
                         "write": m.write_match, "execute": m.execute_match, "reason": reason}
    r.kv("mraptor", [("Result", verdict), ("Flags", m.get_flags() + "  (A: auto-exec, W: write, X: execute)"),
                     ("Auto-exec", m.autoexec_match or ""), ("Write", m.write_match or ""),
                     ("Execute", m.execute_match or "")])
    return verdict, reason


def run_oleid(r, path, result):
    indicators = oleid.OleID(filename=path).check()
    rows = [{"id": i.id, "name": i.name, "value": str(i.value), "risk": str(i.risk), "description": i.description or ""}
            for i in indicators]
    result["oleid"] = rows
    r.table("oleid", ["indicator", "value", "risk", "description"],
            [(i["name"], i["value"], i["risk"], i["description"]) for i in rows])
    return {i["id"]: i["value"] for i in rows}


def analyse(r, data):
    kind, path = kind_of(data), r.input_path
    result = {"kind": kind}
    ex = Extractor(r)
    if kind == "rtf":
        ex.from_rtf(data)
        found, relationships, verdict, reason = None, [], "No Macro", ""
        label = "RTF document"
    else:
        if kind == "ole":
            try:
                with olefile.OleFileIO(path) as ole:
                    ole.listdir()
            except Exception as e:
                raise Unreadable("a damaged OLE compound file (olefile: %s)" % (e or type(e).__name__))
        found = run_olevba(r, path, result)
        verdict, reason = run_mraptor(r, found, result)
        ids = run_oleid(r, path, result)
        label = "%s document" % (found["container"] or "Office")
        if ids.get("encrypted") in ("True", True):
            r.note("oleid: the file is encrypted; macros and objects may be hidden")
        relationships = []
        if kind == "zip" and zipfile.is_zipfile(path):
            ex.from_zip(path)
            relationships = ex.external_relationships(path)
        elif kind == "ole":
            ex.from_ole(path)
    result["objects"], result["external_relationships"] = ex.objects, relationships
    if ex.objects:
        r.table("Embedded objects", ["where", "kind", "class", "file name", "size", "extracted as"],
                [(o["where"], o["kind"], o.get("class", ""), o.get("filename", ""), o.get("size", ""), o.get("child") or "")
                 for o in ex.objects])
    for rel in relationships:
        tag_iocs(r, rel["target"])
    if relationships:
        r.table("External relationships", ["type", "target"], [(x["type"], x["target"]) for x in relationships])

    modules = len([m for m in (found or {}).get("macros", []) if m["stream"] != "xlm_macro"])
    autoexec = [t["value"] for t in r.as_dict()["tags"] if t["type"] == "office.autoexec"]
    parts = [label]
    if found is not None:
        parts.append("%d VBA module%s" % (modules, "" if modules == 1 else "s") if modules else "no VBA macros")
        if found["xlm"]:
            parts.append("XLM macros")
        if autoexec:
            parts.append("auto-exec " + ", ".join(autoexec))
        parts.append("mraptor " + verdict)
    if ex.objects:
        parts.append("%d embedded object%s" % (len(ex.objects), "" if len(ex.objects) == 1 else "s"))
    r.summary = ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0] + ": no embedded objects"

    object_risks = risks(ex.objects)
    risky_rels = [x for x in relationships if x["type"] in RISKY_RELATIONSHIPS]
    if verdict == "SUSPICIOUS":
        r.verdict("suspicious", "mraptor: " + reason)
    elif object_risks:
        r.verdict("suspicious", "; ".join(object_risks))
    elif risky_rels:
        r.verdict("suspicious", "external %s relationship to %s" % (risky_rels[0]["type"], risky_rels[0]["target"]))
    elif modules or (found and found["xlm"]):
        r.verdict("informational", "macros without an auto-exec trigger that writes or executes (mraptor: %s)" % verdict)
    elif ex.objects or relationships:
        r.verdict("informational", "no macros; %d embedded object(s), %d external relationship(s)" % (len(ex.objects), len(relationships)))
    else:
        r.verdict("clean", "no VBA or XLM macros, no embedded objects, no external relationships")
    return result


def main():
    r = Report("office")
    data = r.read_input()
    try:
        result = analyse(r, data)
    except Unreadable as e:
        r.log(str(e))
        r.summary = "Unreadable: %s" % e
        r.verdict("informational", "the file could not be analysed: %s" % e)
        result = {"error": str(e)}
    except Exception as e:  # the file is not one oletools can read: a report that says so
        r.log("could not analyse: %s: %s" % (type(e).__name__, e))
        r.summary = "not an Office document or RTF that oletools could read (%s)" % type(e).__name__
        r.verdict("informational", "oletools could not parse the file: %s" % e)
        r.text("Error", "%s: %s" % (type(e).__name__, e))
        result = {"error": "%s: %s" % (type(e).__name__, e)}
    r.finish(result=result)


if __name__ == "__main__":
    main()
