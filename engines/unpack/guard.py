"""The unpack engine's guards: its limits (from the environment), the budget
every extracted byte and member is counted against, the check of a member's
path, and what kind of archive a file is (from its first bytes).
"""
import os
import re
import zipfile

MIB = 1024 * 1024

# name: (environment variable, default, what it bounds)
LIMITS = {
    "ratio": ("MENAGERIE_UNPACK_MAX_RATIO", 100, "bytes extracted over the input's size"),
    "ratio_floor": ("MENAGERIE_UNPACK_RATIO_FLOOR", 16 * MIB, "bytes extracted before the ratio counts"),
    "count": ("MENAGERIE_UNPACK_MAX_MEMBERS", 500, "members read, at every depth"),
    "bytes": ("MENAGERIE_UNPACK_MAX_BYTES", 512 * MIB, "bytes extracted, at every depth"),
    "depth": ("MENAGERIE_UNPACK_MAX_DEPTH", 5, "archive levels unpacked (the input is level 1)"),
}
PASSWORDS = ("MENAGERIE_UNPACK_PASSWORDS", "infected,malware")


class ConfigError(Exception):
    pass


class LimitHit(Exception):
    """A bomb limit reached: which one, and at what."""

    def __init__(self, limit, detail):
        super().__init__("%s: %s" % (limit, detail))
        self.limit = limit
        self.detail = detail


def human(n):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "bytes" else ("%.1f %s" % (n, unit))
        n /= 1024.0


class Limits:
    def __init__(self, env=os.environ):
        self.values = {}
        for name, (var, default, _) in LIMITS.items():
            raw = env.get(var, "").strip()
            if not raw:
                self.values[name] = default
                continue
            if not re.fullmatch(r"[0-9]+", raw) or int(raw) < 1:
                raise ConfigError("%s must be a whole number of at least 1, not %r" % (var, raw))
            self.values[name] = int(raw)
        for name, value in self.values.items():
            setattr(self, name, value)
        raw = env.get(PASSWORDS[0])
        listed = PASSWORDS[1] if raw is None else raw
        self.passwords = [p for p in (s.strip() for s in listed.split(",")) if p]

    def described(self):
        rows = [(LIMITS[n][0], "%s (%s)" % (human(v) if n in ("bytes", "ratio_floor") else v, LIMITS[n][2])) for n, v in self.values.items()]
        return rows + [(PASSWORDS[0], "%d configured" % len(self.passwords))]


class Budget:
    """What has been extracted so far, against the limits: checked before a member (its declared size) and while it streams."""

    def __init__(self, limits, input_size):
        self.limits = limits
        self.input_size = max(1, input_size)
        self.members = 0
        self.bytes = 0

    def snapshot(self):
        return (self.members, self.bytes)

    def restore(self, snapshot):
        self.members, self.bytes = snapshot

    def member(self, name):
        self.members += 1
        if self.members > self.limits.count:
            raise LimitHit("count", "member %d (%s) is past the limit of %d members" % (self.members, name, self.limits.count))

    def _check(self, total, name, how):
        if total > self.limits.bytes:
            raise LimitHit("bytes", "%s: %s in all, past the limit of %s" % (how, human(total), human(self.limits.bytes)))
        if total > self.limits.ratio_floor and total > self.limits.ratio * self.input_size:
            raise LimitHit(
                "ratio",
                "%s: %s in all, %d times the input's %s, past the limit of %d"
                % (how, human(total), total // self.input_size, human(self.input_size), self.limits.ratio),
            )

    def declared(self, name, size):
        """Before extracting: the member's declared size (which may lie; the stream is counted too)."""
        if size:
            self._check(self.bytes + size, name, "member %s declares %s" % (name, human(size)))

    def add(self, name, n):
        self.bytes += n
        self._check(self.bytes, name, "while extracting %s" % name)


def path_problem(path):
    """Why a member's path may not be extracted as it is, or None."""
    if not path:
        return "empty name"
    if "\0" in path:
        return "NUL in its name"
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        return "absolute path"
    if ".." in re.split(r"[\\/]+", path):
        return "path traversal (..)"
    return None


# (format, magic, offset)
MAGIC = [
    ("zip", b"PK\x03\x04", 0),
    ("zip", b"PK\x05\x06", 0),
    ("7z", b"7z\xbc\xaf\x27\x1c", 0),
    ("rar", b"Rar!\x1a\x07", 0),
    ("gzip", b"\x1f\x8b", 0),
    ("bzip2", b"BZh", 0),
    ("xz", b"\xfd7zXZ\x00", 0),
    ("zstd", b"\x28\xb5\x2f\xfd", 0),
    ("tar", b"ustar", 257),
]
COMPRESSED = ("gzip", "bzip2", "xz", "zstd")
# Zips that are documents or packages of their own, for the engines that know them.
NOT_ARCHIVES = ("[Content_Types].xml", "AndroidManifest.xml", "META-INF/MANIFEST.MF", "mimetype")


def sniff(path):
    """The kind of archive `path` is (zip, 7z, rar, gzip, bzip2, xz, zstd, tar), or None."""
    with open(path, "rb") as f:
        head = f.read(512)
    for fmt, magic, at in MAGIC:
        if head[at : at + len(magic)] == magic:
            if fmt == "zip" and _document(path):
                return None
            return fmt
    return None


def _document(path):
    try:
        with zipfile.ZipFile(path) as z:
            return any(n in NOT_ARCHIVES or n.startswith("word/") for n in z.namelist())
    except Exception:
        return False


def gzip_name(path):
    """The original file name a gzip header keeps (FNAME), or None."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    if len(head) < 10 or head[:2] != b"\x1f\x8b" or not head[3] & 0x08:
        return None
    at = 10
    if head[3] & 0x04:  # FEXTRA
        at += 2 + int.from_bytes(head[10:12], "little")
    end = head.find(b"\0", at)
    name = head[at:end].decode("latin-1") if end > at else ""
    return os.path.basename(name.replace("\\", "/")) or None
