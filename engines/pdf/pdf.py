#!/opt/pdf/bin/python3
"""pdf engine: pdfid's keyword counts (a table; the risky keywords present as
pdf.keyword tags) and, with pypdf, the document's JavaScript, launch
actions, URIs (ioc.* tags) and embedded files (children, relation
"embedded", or "attachment" for a file attachment annotation's). JavaScript
run on open (/JS or /JavaScript with /OpenAction or /AA) and /Launch are
suspicious. The result is pdfid's JSON and what pypdf found."""
import hashlib
import json
import logging
import os

from menagerie_report import Report, tag_iocs
from pdfid import pdfid

from pdf_objects import Walk, decoded

logging.disable(logging.CRITICAL)  # pypdf warns of every repair; the report notes what matters
RISKY = ["/JS", "/JavaScript", "/OpenAction", "/AA", "/Launch", "/EmbeddedFile", "/RichMedia", "/XFA", "/AcroForm",
         "/JBIG2Decode", "/ObjStm", "/Encrypt", "/URI", "/SubmitForm", "/GoToR", "/GoToE", "/ImportData"]
MAX_TOTAL = 512 * 1024 * 1024


def run_pdfid(r, path):
    doc = pdfid.PDFiD(path, allNames=False, extraData=True, disarm=False, force=True)
    data = json.loads(pdfid.PDFiD2JSON(doc, True))[0]["pdfid"]
    keywords = data["keywords"]["keyword"]
    counts = {k["name"]: k["count"] for k in keywords}
    r.table("pdfid", ["keyword", "count", "obfuscated (#xx)"], [(k["name"], k["count"], k["hexcodecount"]) for k in keywords])
    for name in RISKY:
        if counts.get(name):
            r.tag("pdf.keyword", name)
    return data, counts, {k["name"]: k["hexcodecount"] for k in keywords if k["hexcodecount"]}


def extract(r, walk):
    files, total = [], 0
    for num, stream in walk.files:
        name, relation = walk.file_of(num)
        try:
            data, whole = decoded(stream)
        except Exception as e:
            walk.errors.append("embedded file in object %d: %s" % (num, e))
            continue
        entry = {"object": num, "name": name, "relation": relation, "size": len(data),
                 "sha256": hashlib.sha256(data).hexdigest(), "subtype": str(stream.get("/Subtype", ""))}
        if not whole or total + len(data) > MAX_TOTAL:
            r.note("the embedded file in object %d is over the engine's size bounds; it was not extracted" % num)
            entry["extracted"] = False
        else:
            path = r.child_path(name or "embedded-%d.bin" % num)
            with open(path, "wb") as f:
                f.write(data)
            total += len(data)
            r.child(path, relation, name or None)
            entry["extracted"] = os.path.basename(path)
        files.append(entry)
    return files


def analyse(r, path):
    data, counts, obfuscated = run_pdfid(r, path)
    result = {"pdfid": data}
    header = data.get("header") or ""
    is_pdf = data.get("isPdf") == "True"
    walk, failure = None, None
    try:
        walk = Walk(path).run()
    except Exception as e:  # pypdf cannot read even the start: the counts still stand
        failure = "%s: %s" % (type(e).__name__, e)
    pages = walk.pages() if walk else None
    files = extract(r, walk) if walk else []
    facts = [("Header", header.strip() or "none"), ("Pages", "" if pages is None else pages),
             ("Encrypted", "no" if not (walk and walk.encrypted) else "yes, %s" % ("opened with the empty password" if walk.decrypted else "not opened")),
             ("%%EOF markers", data.get("countEof", "")), ("Bytes after the last %%EOF", data.get("countChatAfterLastEof", "")),
             ("Entropy (streams / outside)", "%s / %s" % (data.get("streamEntropy", ""), data.get("nonStreamEntropy", "")))]
    if walk:
        facts += walk.metadata()
    r.kv("PDF", facts)
    if walk:
        for _, uri in walk.uris:
            tag_iocs(r, uri)
        for _, code in walk.javascript:
            tag_iocs(r, code)
        if walk.javascript:
            r.text("JavaScript", "\n\n".join("// object %d\n%s" % (num, code) for num, code in walk.javascript))
        if walk.uris:
            r.table("URIs", ["object", "URI"], walk.uris)
        if walk.launch:
            r.table("Launch actions", ["object", "target"], walk.launch)
        if files:
            r.table("Embedded files", ["object", "name", "relation", "size", "sha256"],
                    [(f["object"], f["name"], f["relation"], f["size"], f["sha256"]) for f in files])
        for error in walk.errors[:20]:
            r.note("pypdf: " + error)
        result.update(javascript=[{"object": n, "code": c} for n, c in walk.javascript], uris=[u for _, u in walk.uris],
                      launch=[{"object": n, "target": t} for n, t in walk.launch], embedded_files=files,
                      pages=pages, encrypted=walk.encrypted, errors=walk.errors)
    else:
        r.note("pypdf could not read the file: " + failure)
        result["error"] = failure

    js = counts.get("/JS", 0) + counts.get("/JavaScript", 0)
    auto = counts.get("/OpenAction", 0) + counts.get("/AA", 0)
    present = [k for k in RISKY if counts.get(k)]
    if not is_pdf and not walk:
        r.summary = "Unreadable: not a PDF (no %PDF header; pypdf: " + failure + ")"
    else:
        state = "damaged PDF (pypdf: %s)" % failure if failure else "%s, %s page%s" % (
            header.strip() or "PDF", pages if pages is not None else "?", "" if pages == 1 else "s")
        r.summary = "%s; %s%s" % (state, "keywords " + ", ".join("%s %d" % (k, counts[k]) for k in present) if present else "no risky keywords",
                                   "; %d embedded file%s" % (len(files), "" if len(files) == 1 else "s") if files else "")
    if js and auto:
        r.verdict("suspicious", "JavaScript run on open: %s with %s" % (
            " and ".join(k for k in ("/JS", "/JavaScript") if counts.get(k)), " and ".join(k for k in ("/OpenAction", "/AA") if counts.get(k))))
    elif counts.get("/Launch"):
        r.verdict("suspicious", "a /Launch action%s" % (": " + walk.launch[0][1] if walk and walk.launch else ""))
    elif obfuscated:
        r.verdict("suspicious", "names obfuscated with #xx escapes: %s" % ", ".join(sorted(obfuscated)))
    elif not is_pdf and not walk:
        r.verdict("informational", "not a PDF")
    elif failure:
        r.verdict("informational", "a damaged PDF that pypdf could not read; pdfid's counts are of its bytes")
    elif present and set(present) - {"/URI", "/ObjStm"}:
        r.verdict("informational", "active content without an automatic trigger: " + ", ".join(present))
    else:
        r.verdict("clean", "no JavaScript, automatic or launch actions, forms or embedded files")
    return result


def main():
    r = Report("pdf")
    r.finish(result=analyse(r, r.input_path))


if __name__ == "__main__":
    main()
