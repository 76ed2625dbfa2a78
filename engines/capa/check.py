#!/opt/capa/bin/python
"""The capa engine's datacheck: loads the rules bundle mounted at $CAPA_RULES
(default /rules) as capa loads them. Exit 0 with the rule count when every rule
loads; exit 1 with capa's own message on stderr when one does not."""
import os
import sys

import rules_bundle


def main():
    directory = os.environ.get("CAPA_RULES") or "/rules"
    try:
        ruleset = rules_bundle.load(directory)
    except rules_bundle.BadBundle as e:
        print("ERROR: capa refuses the rules bundle: %s" % e, file=sys.stderr, flush=True)
        return 1
    names = rules_bundle.rule_names(ruleset)
    print("capa loads %d rules from %s: %s" % (len(names), directory, ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
