#!/usr/bin/python3 -IBS
"""filemeta engine: fast facts about one file.

Input : $MENAGERIE_MOUNTPOINT/$MENAGERIE_INPUT (default /var/data/input)
Output: $MENAGERIE_MOUNTPOINT/result, JSON:
  {"engine": "filemeta", "size": N, "type": `file -b`, "mime": `file -b --mime-type`,
   "md5": .., "sha1": .., "sha256": ..,
   "strings": [the first 200 runs of >= 6 printable ASCII chars (space..~ and tab)],
   "strings_truncated": true when the file holds more than 200 such runs}
  A single string longer than 4096 chars is cut to its first 4096.
Exit  : 0 on success; 2 when the input is missing or the mountpoint is not
        writable; 1 on any other failure.

Runs on python3-minimal (no json module there, hence the small encoder below),
with -I -B -S for a quick start; reads the input once, in 1 MiB chunks.
"""
import hashlib
import os
import re
import subprocess
import sys

MOUNTPOINT = os.environ.get("MENAGERIE_MOUNTPOINT") or "/var/data"
INPUT = os.environ.get("MENAGERIE_INPUT") or "input"
MAX_STRINGS = 200
MIN_LEN = 6
MAX_STRING_LEN = 4096
CHUNK = 1 << 20

PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t"
RUN = re.compile(rb"[\x20-\x7e\t]{%d,}" % MIN_LEN)
NON_PRINTABLE = re.compile(rb"[^\x20-\x7e\t]")

# JSON string escaping without the json module.
_ESCAPES = {i: "\\u%04x" % i for i in range(0x20)}
_ESCAPES.update({0x7F: "\\u007f", ord('"'): '\\"', ord("\\"): "\\\\",
                 ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r"})


def js(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if isinstance(value, list):
        return "[" + ",".join(js(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(js(k) + ":" + js(v) for k, v in value.items()) + "}"
    raise TypeError(type(value))


def fail(code, message):
    sys.stderr.write("[filemeta] ERROR: %s\n" % message)
    sys.exit(code)


def file_cmd(path, *flags):
    proc = subprocess.run(["file", "-b", "-E", *flags, "--", path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        fail(1, "file %s failed: %s" % (" ".join(flags), proc.stderr.decode(errors="replace").strip()))
    return proc.stdout.decode("utf-8", errors="replace").strip()


class Strings:
    """Collects printable runs across chunk boundaries, like `strings -n 6`."""

    def __init__(self):
        self.found = []
        self.truncated = False
        self.done = False
        self.cur = b""      # the run in progress (capped at MAX_STRING_LEN)
        self.cur_len = 0    # its true length

    def _emit(self, run, length):
        if length < MIN_LEN or self.done:
            return
        if len(self.found) < MAX_STRINGS:
            self.found.append(run[:MAX_STRING_LEN].decode("ascii"))
        else:
            self.truncated = True
            self.done = True

    def feed(self, chunk):
        if self.done:
            return
        pos = 0
        if self.cur_len:
            m = NON_PRINTABLE.search(chunk)
            end = m.start() if m else len(chunk)
            if len(self.cur) < MAX_STRING_LEN:
                self.cur += chunk[:min(end, MAX_STRING_LEN - len(self.cur))]
            self.cur_len += end
            if m is None:
                return
            self._emit(self.cur, self.cur_len)
            self.cur, self.cur_len, pos = b"", 0, end
        body_end = max(pos, len(chunk.rstrip(PRINTABLE)))
        for m in RUN.finditer(chunk, pos, body_end):
            self._emit(m.group(), m.end() - m.start())
            if self.done:
                return
        tail = len(chunk) - body_end
        if tail:
            self.cur, self.cur_len = chunk[body_end:body_end + MAX_STRING_LEN], tail

    def finish(self):
        if self.cur_len:
            self._emit(self.cur, self.cur_len)
            self.cur, self.cur_len = b"", 0


def main():
    path = os.path.join(MOUNTPOINT, INPUT)
    result = os.path.join(MOUNTPOINT, "result")
    if not os.path.isfile(path):
        fail(2, "input %s does not exist or is not a regular file" % path)
    if not os.access(MOUNTPOINT, os.W_OK):
        fail(2, "mountpoint %s is not writable by uid %d" % (MOUNTPOINT, os.getuid()))
    print("[filemeta] input: %s" % path, flush=True)

    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    strings = Strings()
    size = 0
    try:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                md5.update(chunk)
                sha1.update(chunk)
                sha256.update(chunk)
                strings.feed(chunk)
    except OSError as e:
        fail(2, "cannot read %s: %s" % (path, e))
    strings.finish()

    doc = {
        "engine": "filemeta",
        "size": size,
        "type": file_cmd(path),
        "mime": file_cmd(path, "--mime-type"),
        "md5": md5.hexdigest(),
        "sha1": sha1.hexdigest(),
        "sha256": sha256.hexdigest(),
        "strings": strings.found,
        "strings_truncated": strings.truncated,
    }
    partial = result + ".partial"
    try:
        with open(partial, "w", encoding="utf-8") as out:
            out.write(js(doc) + "\n")
        os.replace(partial, result)
    except OSError as e:
        fail(1, "cannot write %s: %s" % (result, e))
    print("[filemeta] %d bytes, %s, %d strings%s -> %s" % (
        size, doc["mime"], len(strings.found), " (truncated)" if strings.truncated else "", result), flush=True)


if __name__ == "__main__":
    main()
