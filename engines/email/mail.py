#!/opt/email/bin/python3
"""email engine: an .eml (Python's email module) or an Outlook .msg
(extract-msg). Reports the header fields (a kv section), the received path
(a table, the first relay first), the URLs, domains, IPs and addresses of
the headers and the text and HTML bodies (ioc.* tags), and extracts the
attachments as children (relation "attachment", named by their file
names). Suspicious only for an attachment whose name is an executable's or
a macro-enabled document's. The result is the report as JSON."""
import hashlib
import re

from menagerie_report import Report, tag_iocs

from mail_msg import Unreadable, read_eml, read_msg

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
RISKY_NAME = re.compile(
    r"(?i)\.(bat|cmd|com|cpl|dll|exe|hta|iso|img|jar|js|jse|lnk|msi|ps1|scr|vbe|vbs|wsf|wsh|docm|xlsm|pptm|dotm|xlam)$")
MESSAGE_FIELDS = ("Subject", "From", "Sender", "Reply-To", "Return-Path", "To", "Cc", "Date", "Message-ID")
MAX_TOTAL = 512 * 1024 * 1024
NOT_INDICATORS = {"message-id", "in-reply-to", "references", "dkim-signature", "arc-message-signature", "arc-seal"}


def received_hop(value):
    """A Received field's from, by, with, id and date (RFC 5321 4.4), on one line."""
    clauses, date = (value.rsplit(";", 1) + [""])[:2] if ";" in value else (value, "")

    def clause(word, pattern=r"[^\s;]+"):
        m = re.search(r"(?:^|\s)%s\s+(%s)" % (word, pattern), " " + clauses, re.I)
        return m.group(1) if m else ""

    seen = re.search(r"(?:^|\s)from\s+\S+\s+\(([^)]*)\)", " " + clauses, re.I)
    return {"from": clause("from"), "from_seen_as": seen.group(1) if seen else "", "by": clause("by"),
            "with": clause("with"), "id": clause("id"), "for": clause("for"), "date": date.strip()}


def analyse(r, data):
    mail = read_msg(r.input_path) if data[:8] == OLE else read_eml(data)
    # Message identifiers look like addresses but are none; signatures hold no indicators.
    indicative = "\n".join("%s: %s" % (k, v) for k, v in mail.headers if k.lower() not in NOT_INDICATORS)
    r.kv("Message", [(name, mail.first(name)) for name in MESSAGE_FIELDS if mail.first(name)]
         + [("Attachments", len(mail.attachments)), ("Format", mail.kind)])
    r.kv("Headers", mail.headers)
    hops = [received_hop(v) for v in reversed(mail.all("Received"))]  # each relay adds its field on top
    if hops:
        r.table("Received path", ["hop", "from", "from (seen as)", "by", "with", "id", "date"],
                [(i + 1, h["from"], h["from_seen_as"], h["by"], h["with"], h["id"], h["date"]) for i, h in enumerate(hops)])
    counts = {}
    for text in (indicative, mail.text, mail.html):
        for kind, n in tag_iocs(r, text).items():
            counts[kind] = counts.get(kind, 0) + n
    if mail.text:
        r.text("Body (text)", mail.text)
    if mail.html:
        r.text("Body (HTML)", mail.html)

    rows, attachments, total = [], [], 0
    for name, content, ctype in mail.attachments:
        entry = {"name": name, "content_type": ctype, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
        r.tag("email.attachment", name)
        if total + len(content) > MAX_TOTAL:
            r.note("attachment %s (%d bytes) was not extracted: over the engine's size bounds" % (name, len(content)))
        else:
            path = r.child_path(name)
            with open(path, "wb") as f:
                f.write(content)
            total += len(content)
            r.child(path, "attachment", name)
        attachments.append(entry)
        rows.append((name, ctype, len(content), entry["sha256"]))
    if rows:
        r.table("Attachments", ["name", "content type", "size", "sha256"], rows)
    if mail.defects:
        r.note("defects: " + ", ".join(sorted(set(mail.defects))))

    subject, sender = mail.first("Subject"), mail.first("From")
    urls = len([t for t in r.as_dict()["tags"] if t["type"] == "ioc.url"])
    r.summary = "%s %s from %s: %d hop%s, %d attachment%s, %d URL%s" % (
        mail.kind, '"%s"' % subject if subject else "without a subject", sender or "an unknown sender",
        len(hops), "" if len(hops) == 1 else "s", len(attachments), "" if len(attachments) == 1 else "s",
        urls, "" if urls == 1 else "s")
    risky = [a["name"] for a in attachments if RISKY_NAME.search(a["name"])]
    if risky:
        r.verdict("suspicious", "an attachment named as an executable or a macro-enabled document: " + ", ".join(risky))
    return {"format": mail.kind, "headers": mail.headers, "received": hops, "attachments": attachments,
            "iocs": counts, "defects": mail.defects}


def main():
    r = Report("email")
    data = r.read_input()
    try:
        result = analyse(r, data)
    except Unreadable as e:
        r.log(str(e))
        r.summary = "Unreadable: %s" % e
        r.verdict("informational", "the file could not be read as a message: %s" % e)
        result = {"error": str(e)}
    r.finish(result=result)


if __name__ == "__main__":
    main()
