#!/usr/bin/python3 -B
"""clamav engine: ClamAV's clamscan on the input, with the signatures of
the bundle mounted at /signatures only (no freshclam, no official database).

Report: each detection's name as ClamAV gives it (tag av.signature; names
from a bundle of one's own end in ".UNOFFICIAL"), found in the file or in
what ClamAV unpacked of it. A detection is malicious, a heuristic one
(Heuristics.*, PUA.*) suspicious. No detection gives no verdict: a small
bundle cannot say that a file is clean. Result: the report as JSON, with
clamscan's output (less its times).
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from clamscan import SIGNATURES, Scan, signature_files  # noqa: E402
from menagerie_report import Report, fail  # noqa: E402

HEURISTIC = ("Heuristics.", "PUA.")


def main():
    r = Report("clamav")
    files = signature_files(SIGNATURES)
    if not files:
        r.summary = "no ClamAV signatures mounted at %s: nothing was scanned" % SIGNATURES
        r.kv("ClamAV", [("Signatures", "none mounted (no database file in %s)" % SIGNATURES)])
        r.finish()
        return
    # What ClamAV unpacks of the input goes in the job directory: /tmp holds only 64 MB.
    scratch = os.path.join(r.mountpoint, ".clamav-tmp")
    os.makedirs(scratch, exist_ok=True)
    try:
        scan = Scan(r.input_path, tempdir=scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if scan.code not in (0, 1):
        fail(3, "clamscan failed: %s" % " / ".join(scan.errors()))
    for name in scan.found:
        r.tag("av.signature", name)
    r.kv("ClamAV", [
        ("Engine version", scan.version or "unknown"),
        ("Signatures loaded", "" if scan.signatures is None else str(scan.signatures)),
        ("Signature files", ", ".join(files)),
        ("Detections", str(len(scan.found))),
    ])
    if scan.found:
        r.table("Detections", ["signature", "kind"], [[n, "heuristic" if n.startswith(HEURISTIC) else "signature"] for n in scan.found])
        certain = [n for n in scan.found if not n.startswith(HEURISTIC)]
        if certain:
            r.verdict("malicious", "ClamAV: %s" % ", ".join(certain))
        else:
            r.verdict("suspicious", "ClamAV heuristics: %s" % ", ".join(scan.found))
        r.summary = "ClamAV found %s" % ", ".join(scan.found)
    else:
        r.summary = "no ClamAV detection (%s signatures loaded)" % scan.signatures
    r.text("clamscan output", scan.output())
    result = r.as_dict()
    result["clamscan"] = {"exit_code": scan.code, "output": scan.output()}
    r.finish(result=result)


if __name__ == "__main__":
    main()
