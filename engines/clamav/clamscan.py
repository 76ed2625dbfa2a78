"""ClamAV's clamscan, run on one file with the signatures of the bundle at
/signatures (and no other database: clamscan reads only what --database
names), and what it printed, parsed: the detections, the signatures loaded,
and LibClamAV's errors.
"""
import os
import re
import subprocess

SIGNATURES = "/signatures"
# What a full scan of one file may take: inputs are at most 50 MB (sizelimit), archives unpacked inside it more.
LIMITS = ["--max-filesize=100M", "--max-scansize=400M", "--max-files=10000", "--max-recursion=16"]
# Lines that change from run to run: left out of the result, which a cache may serve again.
VARYING = re.compile(r"^(Time|Start Date|End Date): ")


# The database files ClamAV loads from a directory, by extension (libclamav's CLI_DBEXT); it skips the rest.
EXTENSIONS = set(
    "cvd cld cud hdb hdu hsb hsu mdb mdu msb msu ndb ndu ldb ldu sdb zmd rmd idb fp sfp gdb pdb wdb cfg cdb crb cat "
    "ftm ign ign2 imp yar yara cbc ioc info pwdb".split()
)


def signature_files(root=SIGNATURES):
    """The bundle's database files ClamAV will load (those of its top directory, as it reads them), sorted."""
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if os.path.isfile(os.path.join(root, n)) and n.rsplit(".", 1)[-1].lower() in EXTENSIONS)


class Scan:
    def __init__(self, target, tempdir="/tmp"):
        args = ["clamscan", "--database=" + SIGNATURES, "--stdout", "--allmatch", "--tempdir=" + tempdir] + LIMITS + ["--", target]
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
        self.code = done.returncode  # 0: nothing found, 1: found, 2: an error
        self.stdout = done.stdout.decode("utf-8", "replace")
        self.stderr = done.stderr.decode("utf-8", "replace")
        self.found = []
        for line in self.stdout.splitlines():
            m = re.match(r"^(.*): (.+) FOUND$", line)
            if m and m.group(2) not in self.found:
                self.found.append(m.group(2))
        m = re.search(r"^Known viruses: (\d+)$", self.stdout, re.M)
        self.signatures = int(m.group(1)) if m else None
        m = re.search(r"^Engine version: (\S+)$", self.stdout, re.M)
        self.version = m.group(1) if m else None

    def errors(self):
        """ClamAV's own words for what went wrong: LibClamAV's error lines, then clamscan's ERROR lines."""
        lines = [line for line in self.stderr.splitlines() if "Error" in line or "ERROR" in line]
        lines += [line for line in self.stdout.splitlines() if line.startswith("ERROR")]
        return lines or ["clamscan exited %d" % self.code]

    def output(self):
        """What clamscan printed, without its times and dates."""
        return "\n".join(line for line in self.stdout.splitlines() if not VARYING.match(line))
