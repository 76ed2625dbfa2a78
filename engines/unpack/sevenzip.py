"""7-Zip's command line (Debian's p7zip-full: 7-Zip itself, LGPL-2.1) for
what libarchive cannot read: 7z archives whose contents or headers are
encrypted (AES-256). Members are listed with `7z l -slt`, then each one is
streamed to stdout with `7z x -so`, so that 7-Zip never writes a file and
the caller counts every byte, as with archive.Reader.
"""
import subprocess

from archive import ArchiveError, PasswordError

BLOCK = 64 * 1024
SEVENZIP = "7z"


def _password_error(text):
    return "wrong password" in text.lower() or "encrypted" in text.lower()


def _run(args, password):
    # -p always: without it 7-Zip asks for one on stdin (which is /dev/null).
    return [SEVENZIP] + args + ["-p" + (password or ""), "-bd", "-y", "-spd", "--"]


class Entry:
    def __init__(self, reader, fields):
        self._reader = reader
        # The name as 7-Zip printed it, for its command line; the path, valid UTF-8, for the report.
        self.arg = fields.get("Path", "")
        self.path = self.arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        attributes = fields.get("Attributes", "")
        unix = attributes.split(" ", 1)[1] if " " in attributes else ""
        self.symlink = None
        self.hardlink = None
        if unix.startswith("l"):
            self.kind, self.symlink = "symlink", "(its target is the member's data)"
        elif unix.startswith("d") or attributes.startswith("D") or fields.get("Folder") == "+":
            self.kind = "directory"
        elif unix[:1] in ("c", "b"):
            self.kind = "device"
        elif unix[:1] in ("p", "s"):
            self.kind = "fifo"
        else:
            self.kind = "file"
        size = fields.get("Size", "")
        self.size = int(size) if size.isdigit() else None
        self.encrypted = fields.get("Encrypted") == "+"

    def blocks(self):
        """The member's data from `7z x -so`; a PasswordError or ArchiveError from 7-Zip's own message."""
        process = subprocess.Popen(
            _run(["x", "-so"], self._reader.password) + [self._reader.path, self.arg],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        finished = False
        try:
            while True:
                chunk = process.stdout.read(BLOCK)
                if not chunk:
                    break
                yield chunk
            finished = True
        finally:
            if not finished:
                process.kill()
            process.stdout.close()
            errors = process.stderr.read().decode("utf-8", "replace")
            process.stderr.close()
            rc = process.wait()
        if rc != 0:
            message = " ".join(line.strip() for line in errors.splitlines() if line.strip()) or "7z exited %d" % rc
            raise (PasswordError if self.encrypted or _password_error(message) else ArchiveError)(message)


class Reader:
    """The members of a 7z archive as 7-Zip lists them with `password`."""

    def __init__(self, path, password=None):
        self.path = path
        self.password = password
        listing = subprocess.run(_run(["l", "-slt", "-ba"], password) + [path], stdin=subprocess.DEVNULL, capture_output=True)
        out = listing.stdout.decode("utf-8", "surrogateescape")
        if listing.returncode != 0:
            message = " ".join(listing.stderr.decode("utf-8", "replace").split()) or "7z exited %d" % listing.returncode
            raise (PasswordError if _password_error(message) else ArchiveError)(message)
        self._entries = []
        for chunk in out.split("\n\n"):
            fields = dict(line.split(" = ", 1) for line in chunk.splitlines() if " = " in line)
            if "Path" in fields:
                self._entries.append(fields)

    def format(self):
        return "7-Zip (encrypted)", []

    def __iter__(self):
        for fields in self._entries:
            yield Entry(self, fields)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
