#!/usr/bin/python3 -B
"""The clamav engine's datacheck: loads the signatures of the bundle mounted
at /signatures as the engine does (clamscan --database=/signatures, on a
file of its own). Exit 0 to accept the bundle; 1 with LibClamAV's own
messages on stderr when a signature file is malformed, or none is there.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from clamscan import SIGNATURES, Scan, signature_files  # noqa: E402


def main():
    if not signature_files(SIGNATURES):
        print("ERROR: no database file (.hdb, .ndb, .ldb, .cvd, ...) in %s: a clamav bundle needs one" % SIGNATURES, file=sys.stderr)
        return 1
    scan = Scan(os.path.realpath(__file__))
    if scan.code not in (0, 1):
        print("ERROR: ClamAV cannot load the signatures:", file=sys.stderr)
        for line in scan.errors():
            print(line, file=sys.stderr)
        return 1
    print("ok: ClamAV %s loaded %s signatures" % (scan.version, scan.signatures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
