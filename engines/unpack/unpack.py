#!/usr/bin/python3 -B
"""unpack engine: the members of an archive (zip, 7z, RAR, tar, and gzip,
bzip2, xz or zstd, alone or around a tar) as its children.

libarchive reads it (archive.py; 7-Zip's command for encrypted 7z,
sevenzip.py), one member at a time, and this engine writes each member
itself under children/, with a name of its own: a member's path never says
where a file goes. Refused (and reported): absolute paths, "..", symlinks,
hard links, devices and FIFOs. Encrypted archives are tried with each
password of MENAGERIE_UNPACK_PASSWORDS (default "infected,malware").

Nested archives are unpacked here, up to the depth limit, rather than left to
recursion: the bomb limits (guard.py) count every member and byte of the
whole tree, at every depth, which a nested bomb (42.zip) would otherwise
pass one harmless-looking level at a time. A nested archive unpacked whole
is listed in the Members table, not made a child (so that recursion does not
unpack it again); one left packed (past the depth limit, damaged, or
encrypted with no known password) is a child.
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

import archive  # noqa: E402
import sevenzip  # noqa: E402
from describe import TOP, describe  # noqa: E402
from guard import COMPRESSED, Budget, ConfigError, LimitHit, Limits, gzip_name, path_problem, sniff  # noqa: E402
from menagerie_report import Report, fail  # noqa: E402

ESCAPES = ("absolute path", "path traversal (..)")
LISTS = ("rows", "children", "refused", "passwords", "unopened", "damaged")


class Unpacker:
    def __init__(self, report, limits, input_size):
        self.r = report
        self.limits = limits
        self.budget = Budget(limits, input_size)
        self.hits = {}  # limit: [details]; never rolled back
        self.lists = {name: [] for name in LISTS}
        self.formats = {}  # archive: (libarchive's format name, filters); kept when an attempt is undone
        self.unpacked = 0

    # An attempt with a wrong password is undone whole: its files, its rows, its counts.
    def state(self):
        return ({name: len(items) for name, items in self.lists.items()}, self.unpacked, self.budget.snapshot())

    def rollback(self, state):
        lengths, self.unpacked, budget = state
        for path, _ in self.lists["children"][lengths["children"] :]:
            if os.path.lexists(path):
                os.unlink(path)
        for name, length in lengths.items():
            del self.lists[name][length:]
        self.budget.restore(budget)

    def hit(self, limit, detail):
        self.hits.setdefault(limit, []).append(detail)

    def row(self, depth, name, kind, size, sha256, outcome):
        row = [str(depth), name, kind, "" if size is None else str(size), sha256, outcome]
        self.lists["rows"].append(row)
        return row

    def unpack(self, path, fmt, name, depth):
        """Unpacks the archive at `path`, its members at `depth`: "ok", "damaged", "unopened" (no password) or "unreadable"."""
        label = name or TOP
        state = self.state()
        backend, raw, passwords, tried = "libarchive", False, [None] + self.limits.passwords, 0
        failure = None
        while tried < len(passwords):
            password = passwords[tried]
            try:
                self._attempt(backend, path, password, raw, name, depth, fmt)
                if password is not None:
                    self.lists["passwords"].append((label, password))
                return "ok"
            except archive.EncryptionUnsupported as e:
                self.rollback(state)
                if backend == "7z":
                    failure = e
                    break
                backend, tried = "7z", 0  # 7-Zip decrypts what libarchive cannot
            except archive.PasswordError as e:
                self.rollback(state)
                failure, tried = e, tried + 1
            except archive.ArchiveError as e:
                read_any = len(self.lists["rows"]) > state[0]["rows"]
                if not read_any and fmt in COMPRESSED and not raw:
                    self.rollback(state)
                    raw = True  # a lone compressed file, not a compressed tar
                    continue
                self.lists["damaged"].append((label, str(e)))
                return "damaged" if read_any else "unreadable"
        self.lists["unopened"].append((label, "%s (%s)" % (failure, "%d passwords tried" % len(self.limits.passwords))))
        return "unopened"

    def _attempt(self, backend, path, password, raw, name, depth, fmt):
        if backend == "7z":
            reader = sevenzip.Reader(path, password)
        else:
            reader = archive.Reader(path, raw=raw, passphrase=password)
        prefix = name + "/" if name else ""
        with reader:
            for entry in reader:
                self.formats[name or TOP] = reader.format()
                member = entry.path
                if raw:
                    member = self._raw_name(path, fmt, name)
                while member.startswith("./"):
                    member = member[2:]
                self._member(entry, prefix + member, depth)
            self.formats.setdefault(name or TOP, reader.format())

    @staticmethod
    def _raw_name(path, fmt, name):
        if fmt == "gzip" and gzip_name(path):
            return gzip_name(path)
        base = os.path.basename(name)
        for suffix in (".gz", ".bz2", ".xz", ".zst", ".zstd"):
            if base.endswith(suffix) and len(base) > len(suffix):
                return base[: -len(suffix)]
        return "data"

    def _member(self, entry, name, depth):
        self.budget.member(name)
        if entry.kind == "directory":
            self.row(depth, name, "directory", None, "", "skipped (a directory)")
            return
        problem = path_problem(entry.path)
        if entry.kind != "file":
            target = entry.symlink or entry.hardlink
            escapes = problem in ESCAPES or (target is not None and path_problem(target) in ESCAPES)
            reason = "%s%s%s" % (entry.kind, " to %s" % target if target else "", "; %s" % problem if problem else "")
            self._refuse(depth, name, entry.kind, reason, escapes)
            return
        if problem:
            self._refuse(depth, name, "file", problem, problem in ESCAPES)
            return
        try:
            self.budget.declared(name, entry.size)
        except LimitHit as e:
            self.row(depth, name, "file", entry.size, "", "not extracted: the %s limit (its declared size)" % e.limit)
            raise
        target = self.r.child_path(name)
        digest, written = hashlib.sha256(), 0
        try:
            with open(target, "wb") as out:
                for block in entry.blocks():
                    self.budget.add(name, len(block))
                    out.write(block)
                    digest.update(block)
                    written += len(block)
        except BaseException as e:
            os.unlink(target)  # a member cut short is not a child
            if isinstance(e, LimitHit):
                self.row(depth, name, "file", written, "", "not extracted: the %s limit" % e.limit)
            elif isinstance(e, archive.ArchiveError) and not isinstance(e, archive.PasswordError):
                self.row(depth, name, "file", written, "", "not extracted: %s" % e)
            raise
        child = (target, name)
        self.lists["children"].append(child)
        row = self.row(depth, name, "file", written, digest.hexdigest(), "child")
        kind = sniff(target)
        if kind is None:
            return
        if depth + 1 > self.limits.depth:
            self.hit("depth", "%s (%s) is nested %d archives deep, past the limit of %d" % (name, kind, depth + 1, self.limits.depth))
            row[5] = "child: a %s archive, not unpacked (the depth limit)" % kind
            return
        outcome = self.unpack(target, kind, name, depth + 1)
        if outcome == "ok":
            self.lists["children"].remove(child)
            os.unlink(target)
            self.unpacked += 1
            row[5] = "unpacked (%s)" % kind
        else:
            row[5] = "child: a %s archive, %s" % (kind, outcome)

    def _refuse(self, depth, name, kind, reason, escapes):
        self.lists["refused"].append((name, kind, reason, escapes))
        self.row(depth, name, kind, None, "", "refused: %s" % reason)


def main():
    r = Report("unpack")
    try:
        limits = Limits()
    except ConfigError as e:
        fail(3, str(e))
    size = os.path.getsize(r.input_path)
    fmt = sniff(r.input_path)
    u = Unpacker(r, limits, size)
    try:
        outcome = u.unpack(r.input_path, fmt, "", 1)
    except LimitHit as hit:
        u.hit(hit.limit, hit.detail)
        outcome = "stopped"
    describe(u, outcome, fmt, size)
    r.finish()


if __name__ == "__main__":
    main()
