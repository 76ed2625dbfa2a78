"""A small ctypes binding of libarchive's reader (libarchive13, BSD-2):
entries one at a time, with their type and declared size, and their data as
a stream of blocks, so that the caller counts every byte it is given and
decides where (and whether) to write it. libarchive never writes a file.
"""
import ctypes
import ctypes.util
import stat

_lib = ctypes.CDLL(ctypes.util.find_library("archive") or "libarchive.so.13")

ARCHIVE_EOF, ARCHIVE_OK, ARCHIVE_RETRY, ARCHIVE_WARN, ARCHIVE_FAILED, ARCHIVE_FATAL = 1, 0, -10, -20, -25, -30

_p = ctypes.c_void_p
for name, restype, argtypes in [
    ("archive_read_new", _p, []),
    ("archive_read_support_filter_gzip", ctypes.c_int, [_p]),
    ("archive_read_support_filter_bzip2", ctypes.c_int, [_p]),
    ("archive_read_support_filter_xz", ctypes.c_int, [_p]),
    ("archive_read_support_filter_lzma", ctypes.c_int, [_p]),
    ("archive_read_support_filter_zstd", ctypes.c_int, [_p]),
    ("archive_read_support_filter_lz4", ctypes.c_int, [_p]),
    ("archive_read_support_filter_compress", ctypes.c_int, [_p]),
    ("archive_read_support_format_tar", ctypes.c_int, [_p]),
    ("archive_read_support_format_cpio", ctypes.c_int, [_p]),
    ("archive_read_support_format_zip", ctypes.c_int, [_p]),
    ("archive_read_support_format_7zip", ctypes.c_int, [_p]),
    ("archive_read_support_format_rar", ctypes.c_int, [_p]),
    ("archive_read_support_format_rar5", ctypes.c_int, [_p]),
    ("archive_read_support_format_raw", ctypes.c_int, [_p]),
    ("archive_read_add_passphrase", ctypes.c_int, [_p, ctypes.c_char_p]),
    ("archive_read_open_filename", ctypes.c_int, [_p, ctypes.c_char_p, ctypes.c_size_t]),
    ("archive_read_next_header", ctypes.c_int, [_p, ctypes.POINTER(_p)]),
    ("archive_read_data", ctypes.c_ssize_t, [_p, _p, ctypes.c_size_t]),
    ("archive_read_data_skip", ctypes.c_int, [_p]),
    ("archive_read_free", ctypes.c_int, [_p]),
    ("archive_error_string", ctypes.c_char_p, [_p]),
    ("archive_format_name", ctypes.c_char_p, [_p]),
    ("archive_filter_count", ctypes.c_int, [_p]),
    ("archive_filter_name", ctypes.c_char_p, [_p, ctypes.c_int]),
    ("archive_read_has_encrypted_entries", ctypes.c_int, [_p]),
    ("archive_entry_pathname", ctypes.c_char_p, [_p]),
    ("archive_entry_pathname_utf8", ctypes.c_char_p, [_p]),
    ("archive_entry_filetype", ctypes.c_uint, [_p]),
    ("archive_entry_size", ctypes.c_int64, [_p]),
    ("archive_entry_size_is_set", ctypes.c_int, [_p]),
    ("archive_entry_symlink", ctypes.c_char_p, [_p]),
    ("archive_entry_hardlink", ctypes.c_char_p, [_p]),
    ("archive_entry_is_encrypted", ctypes.c_int, [_p]),
]:
    fn = getattr(_lib, name)
    fn.restype, fn.argtypes = restype, argtypes

BLOCK = 64 * 1024
FILTERS = ("gzip", "bzip2", "xz", "lzma", "zstd", "lz4", "compress")
FORMATS = ("tar", "cpio", "zip", "7zip", "rar", "rar5")


class ArchiveError(Exception):
    """The archive cannot be read (on): not one, damaged, truncated."""


class PasswordError(ArchiveError):
    """A password is needed, or the one given is wrong."""


class EncryptionUnsupported(ArchiveError):
    """Encrypted in a way libarchive cannot decrypt (7z's AES): 7-Zip's own command can."""


def error(message, encrypted=False):
    """The ArchiveError of libarchive's `message` (about an entry that is `encrypted` or not)."""
    lower = message.lower()
    if "currently not supported" in lower and "encrypt" in lower:
        return EncryptionUnsupported(message)
    if "passphrase" in lower or encrypted:
        return PasswordError(message)
    return ArchiveError(message)


def _text(raw):
    return raw.decode("utf-8", "replace") if raw else ""


class Entry:
    def __init__(self, reader, handle):
        self._reader = reader
        raw = _lib.archive_entry_pathname_utf8(handle) or _lib.archive_entry_pathname(handle)
        self.path = _text(raw)
        mode = _lib.archive_entry_filetype(handle)
        self.hardlink = _text(_lib.archive_entry_hardlink(handle)) or None
        self.symlink = _text(_lib.archive_entry_symlink(handle)) or None
        if self.hardlink:
            self.kind = "hardlink"
        elif stat.S_ISLNK(mode) or self.symlink:
            self.kind = "symlink"
        elif stat.S_ISDIR(mode):
            self.kind = "directory"
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            self.kind = "device"
        elif stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            self.kind = "fifo"
        else:
            self.kind = "file"
        self.size = _lib.archive_entry_size(handle) if _lib.archive_entry_size_is_set(handle) else None
        self.encrypted = bool(_lib.archive_entry_is_encrypted(handle))

    def blocks(self):
        """The entry's data, block by block; an ArchiveError when it cannot be read (a wrong password, a corrupt stream)."""
        buf = ctypes.create_string_buffer(BLOCK)
        while True:
            n = _lib.archive_read_data(self._reader.handle, buf, BLOCK)
            if n == 0:
                return
            if n < 0:
                raise error(self._reader.error(), self.encrypted)
            yield buf.raw[:n]


class Reader:
    """One pass over an archive: `for entry in reader: ... entry.blocks()`. raw=True reads a lone compressed stream."""

    def __init__(self, path, raw=False, passphrase=None):
        self.handle = _lib.archive_read_new()
        if not self.handle:
            raise MemoryError("archive_read_new")
        # Filters named too: "all" includes those that run an outside program (lrzip, lzop, grzip).
        for name in FILTERS:
            getattr(_lib, "archive_read_support_filter_" + name)(self.handle)
        # Formats named one by one: "all" includes mtree, whose entries name
        # files on the host's disk to read, and would take a text file for one.
        for fmt in ("raw",) if raw else FORMATS:
            getattr(_lib, "archive_read_support_format_" + fmt)(self.handle)
        if passphrase is not None:
            _lib.archive_read_add_passphrase(self.handle, passphrase.encode("utf-8"))
        if _lib.archive_read_open_filename(self.handle, path.encode(), BLOCK) < ARCHIVE_WARN:
            message = self.error()
            self.close()
            raise error(message)

    def error(self):
        return _text(_lib.archive_error_string(self.handle)) or "unknown libarchive error"

    def format(self):
        """The format and the filters libarchive found ("ZIP 2.0 (deflation)", ["gzip"])."""
        filters = [_text(_lib.archive_filter_name(self.handle, i)) for i in range(_lib.archive_filter_count(self.handle))]
        return _text(_lib.archive_format_name(self.handle)), [f for f in filters if f and f != "none"]

    def __iter__(self):
        entry = _p()
        while True:
            rc = _lib.archive_read_next_header(self.handle, ctypes.byref(entry))
            if rc == ARCHIVE_EOF:
                return
            if rc < ARCHIVE_WARN:
                raise error(self.error())
            yield Entry(self, entry)

    def close(self):
        if self.handle:
            _lib.archive_read_free(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
