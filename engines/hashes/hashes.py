#!/opt/hashes/bin/python3 -IB
"""hashes engine: md5, sha1, sha256, ssdeep and TLSH of $MENAGERIE_MOUNTPOINT/$MENAGERIE_INPUT.

Tags hash.md5, hash.sha1, hash.sha256, hash.ssdeep and hash.tlsh, for
similarity search. TLSH needs at least 50 bytes (and some variety in them):
for a file without, the report says why there is no TLSH. The file is read
in chunks, so its size does not bound the memory. result: the hashes as JSON.
"""
import hashlib

import ssdeep
import tlsh

from menagerie_report import Report

CHUNK = 1 << 20
TLSH_MIN_BYTES = 50


def main():
    r = Report("hashes")
    digests = {name: hashlib.new(name) for name in ("md5", "sha1", "sha256")}
    fuzzy, similar, size = ssdeep.Hash(), tlsh.Tlsh(), 0
    with open(r.input_path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            size += len(chunk)
            for d in digests.values():
                d.update(chunk)
            fuzzy.update(chunk)
            similar.update(chunk)
    hashes = {name: d.hexdigest() for name, d in digests.items()}
    hashes["ssdeep"] = fuzzy.digest()
    tlsh_note = None
    if size < TLSH_MIN_BYTES:
        tlsh_note = "none: TLSH needs at least %d bytes, and the file has %d" % (TLSH_MIN_BYTES, size)
    else:
        similar.final()
        digest = similar.hexdigest()
        if digest and digest != "TNULL":
            hashes["tlsh"] = digest
        else:
            tlsh_note = "none: the %d bytes vary too little for TLSH (it needs enough distinct byte triplets)" % size
    for name in ("md5", "sha1", "sha256", "ssdeep", "tlsh"):
        if name in hashes:
            r.tag("hash." + name, hashes[name])
    r.kv("Hashes", [("Size", "%d bytes" % size), ("MD5", hashes["md5"]), ("SHA-1", hashes["sha1"]),
                    ("SHA-256", hashes["sha256"]), ("ssdeep", hashes["ssdeep"]),
                    ("TLSH", hashes.get("tlsh") or tlsh_note)])
    if tlsh_note:
        r.note("TLSH " + tlsh_note)
    r.summary = "%d bytes, sha256 %s%s" % (size, hashes["sha256"], "" if "tlsh" in hashes else "; no TLSH (%s)" % tlsh_note[6:])
    r.finish(result=dict(hashes, size=size))


if __name__ == "__main__":
    main()
