"""The email engine's readers: an RFC 5322 message (Python's email module)
or an Outlook .msg (extract-msg), each as a Mail: its header fields in
order, its text and HTML bodies, and its attachments (name, bytes, type)."""
import email.policy
import mimetypes
from email.header import decode_header, make_header
from email.parser import BytesParser

import extract_msg


class Unreadable(Exception):
    """Not a message this engine can read: what it is instead, for the report."""


class Mail:
    def __init__(self, kind):
        self.kind = kind
        self.headers = []  # (name, value), in the file's order, unfolded and decoded
        self.text, self.html = "", ""
        self.attachments = []  # (name, data, content type)
        self.defects = []

    def first(self, name):
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


def decoded(value):
    """A header field's value on one line, RFC 2047 words decoded."""
    value = " ".join(str(value).split())
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def read_eml(data):
    msg = BytesParser(policy=email.policy.default).parsebytes(data)
    mail = Mail("RFC 5322 message")
    mail.headers = [(k, decoded(v)) for k, v in msg.raw_items()]
    if not mail.headers:
        raise Unreadable("no header fields: not an e-mail message")
    mail.defects = [type(d).__name__ for d in msg.defects]
    body_parts = []
    for kind in ("plain", "html"):
        part = msg.get_body((kind,))
        if part is not None:
            body_parts.append(part)
            text = part.get_payload(decode=True) or b""
            charset = part.get_content_charset() or "utf-8"
            content = text.decode(charset if _known(charset) else "utf-8", "replace")
            setattr(mail, "text" if kind == "plain" else "html", content)

    def walk(part):
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            for sub in part.iter_parts():
                walk(sub)
        elif any(part is b for b in body_parts):
            return
        elif part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            data = inner.as_bytes() if inner is not None else (part.get_payload(decode=True) or b"")
            subject = decoded(inner["Subject"]) if inner is not None and inner["Subject"] else ""
            mail.attachments.append((part.get_filename() or (subject or "message") + ".eml", data, "message/rfc822"))
        else:
            data = part.get_payload(decode=True) or b""
            name = part.get_filename()
            if not name:
                ext = mimetypes.guess_extension(part.get_content_type()) or ".bin"
                name = "attachment-%d%s" % (len(mail.attachments) + 1, ext)
            mail.attachments.append((decoded(name), data, part.get_content_type()))

    walk(msg)
    return mail


def _known(charset):
    try:
        "".encode(charset)
        return True
    except LookupError:
        return False


def read_msg(path):
    try:
        msg = extract_msg.openMsg(path)
    except Exception as e:
        raise Unreadable("not an Outlook message that extract-msg could read (%s: %s)" % (type(e).__name__, e))
    try:
        mail = Mail("Outlook message")
        header = msg.header
        if header is not None and len(header.keys()):
            mail.headers = [(k, decoded(v)) for k, v in header.items()]
        else:  # never sent: no transport headers, only the message's own properties
            for name, value in (("Subject", msg.subject), ("From", msg.sender), ("To", msg.to), ("Cc", msg.cc),
                                ("Date", msg.date), ("Message-ID", msg.messageId)):
                if value:
                    mail.headers.append((name, decoded(value)))
        mail.text = msg.body or ""
        html = msg.htmlBody
        mail.html = html.decode("utf-8", "replace") if isinstance(html, bytes) else (html or "")
        for i, att in enumerate(msg.attachments):
            name = att.longFilename or att.shortFilename or att.displayName or "attachment-%d" % (i + 1)
            data = att.data
            if isinstance(data, bytes):
                mail.attachments.append((name, data, att.mimetype or ""))
            elif hasattr(data, "exportBytes"):  # an embedded message
                mail.attachments.append((name if name.lower().endswith(".msg") else name + ".msg", data.exportBytes(),
                                         "application/vnd.ms-outlook"))
            else:
                mail.defects.append("attachment %s: no data extract-msg could read" % name)
        return mail
    finally:
        msg.close()
