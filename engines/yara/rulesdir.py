"""The yara engine's rules: every *.yar and *.yara file under the bundle's
mount point (/rules), compiled together, each file its own namespace (so two
files may hold rules of the same name), includes resolved beside each file.
"""
import os

import yara

RULES = "/rules"


def rule_files(root=RULES):
    """The rule files under `root`, as (path relative to it, absolute path), sorted; hidden ones skipped."""
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and name.lower().endswith((".yar", ".yara")):
                path = os.path.join(directory, name)
                found.append((os.path.relpath(path, root), path))
    return sorted(found)


def compile_rules(files):
    """The compiled rules of `files`; yara.Error (yara's own message: file, line, what) when they do not compile."""
    return yara.compile(filepaths={rel: path for rel, path in files})
