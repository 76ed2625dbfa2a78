"""What the unpack engine reports: its summary, verdict, tags, sections and children, from an Unpacker's findings."""
import os

from guard import COMPRESSED, human

TOP = "(the input)"


def plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def format_keys(described):
    """unpack.format values of libarchive's (format, filters): the filters outside in, then the format."""
    name, filters = described
    lower = name.lower()
    keys = list(filters)
    for key, test in (("zip", lower.startswith("zip")), ("7z", "7-zip" in lower), ("rar", lower.startswith("rar")),
                      ("tar", "tar" in lower), ("cpio", "cpio" in lower)):
        if test:
            return keys + [key]
    return keys or [lower]


def describe(u, outcome, fmt, size):
    r, lists = u.r, u.lists
    for path, name in lists["children"]:
        r.child(path, "extracted", name)
    for described in u.formats.values():
        for key in format_keys(described):
            r.tag("unpack.format", key)
    for _, password in lists["passwords"]:
        r.tag("unpack.password", password)
    for limit in u.hits:
        r.tag("unpack.limit", limit)
    for _, kind, reason, escapes in lists["refused"]:
        r.tag("unpack.refused", "path-escape" if escapes else kind)
    if lists["unopened"]:
        r.tag("unpack.encrypted", "not-opened")

    top = u.formats.get(TOP)
    password = dict(lists["passwords"]).get(TOP)
    unopened = dict(lists["unopened"]).get(TOP)
    extracted = sum(os.path.getsize(p) for p, _ in lists["children"])
    fields = [
        ("Format", "%s%s" % (top[0], " (%s)" % ", ".join(top[1]) if top[1] else "") if top else (fmt or "unknown")),
        ("Input size", "%s (%d bytes)" % (human(size), size)),
        ("Members read", str(u.budget.members)),
        ("Files extracted", str(len(lists["children"]))),
        ("Bytes extracted", "%s (%d bytes)" % (human(extracted), extracted)),
        ("Nested archives unpacked", str(u.unpacked)),
        ("Password", password or ("none opened it: %s" % unopened if unopened else "none needed")),
    ]
    fields += [("Password of %s" % label, pw) for label, pw in lists["passwords"] if label != TOP]
    fields += [("Not opened: %s" % label, why) for label, why in lists["unopened"] if label != TOP]
    fields += [("Read error: %s" % label, why) for label, why in lists["damaged"]]
    r.kv("Archive", fields)
    if u.hits:
        r.kv("Limits hit", [(limit, "; ".join(details)) for limit, details in u.hits.items()])
    r.kv("Limits", u.limits.described())
    r.table("Members", ["depth", "name", "kind", "size", "sha256", "outcome"], lists["rows"])
    if lists["refused"]:
        r.table("Refused", ["name", "kind", "reason"], [row[:3] for row in lists["refused"]])

    keys = format_keys(top) if top else [fmt or "unknown"]
    kind = "%s archive%s" % (keys[-1], " (%s)" % ", ".join(keys[:-1]) if len(keys) > 1 else "")
    if keys == [fmt] and fmt in COMPRESSED and top and top[0] == "raw":
        kind = "%s-compressed file" % fmt
    escapes = [name for name, _, _, e in lists["refused"] if e]
    if u.hits:
        limit, details = next(iter(u.hits.items()))
        r.verdict("suspicious", "archive bomb: the %s limit was hit (%s)" % (limit, details[0]))
    elif escapes:
        r.verdict("suspicious", "members that would be written outside the extraction directory: %s" % ", ".join(escapes))
    if outcome == "unreadable" and not lists["children"]:
        r.summary = "not an archive unpack can read (%s)" % dict(lists["damaged"]).get(TOP, "unknown format")
    elif outcome == "unopened":
        r.summary = "%s, encrypted: none of the %d configured passwords opened it" % (kind, len(u.limits.passwords))
    else:
        parts = [kind]
        if password:
            parts.append('opened with the password "%s"' % password)
        parts.append("%s extracted (%s)" % (plural(len(lists["children"]), "file"), human(extracted)))
        if u.unpacked:
            parts.append("%s unpacked" % plural(u.unpacked, "nested archive"))
        if lists["refused"]:
            parts.append("%s refused" % plural(len(lists["refused"]), "member"))
        if u.hits:
            parts.append("stopped at the %s limit" % "/".join(u.hits) if outcome == "stopped" else "the %s limit hit" % "/".join(u.hits))
        if outcome == "damaged":
            parts.append("damaged: %s" % dict(lists["damaged"]).get(TOP, "a nested archive"))
        r.summary = ", ".join(parts)
