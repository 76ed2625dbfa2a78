#!/usr/bin/python3 -B
"""The yara engine's datacheck: compiles every rule file of the bundle
mounted at /rules, as the engine will. Exit 0 to accept the bundle; 1 with
yara's own message on stderr when it does not compile, or holds no rules.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

import yara  # noqa: E402
from rulesdir import RULES, compile_rules, rule_files  # noqa: E402


def main():
    files = rule_files(RULES)
    if not files:
        print("ERROR: no *.yar or *.yara file under %s: a yara bundle needs at least one rule file" % RULES, file=sys.stderr)
        return 1
    try:
        rules = compile_rules(files)
    except yara.Error as e:
        print("ERROR: the rules do not compile: %s" % e, file=sys.stderr)
        return 1
    print("ok: %d rule files, %d rules compiled" % (len(files), sum(1 for _ in rules)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
