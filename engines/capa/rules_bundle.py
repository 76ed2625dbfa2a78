"""The capa rules of a data bundle: found, loaded and checked as capa loads them.

Shared by check.py (the datacheck of a pushed bundle) and run.py (which loads
the mounted bundle before it runs capa, so that a bad bundle is said plainly).
"""
import os
import tempfile
from pathlib import Path

import yaml

import capa.rules

def rule_files(directory):
    """The rule files under `directory`, as capa collects them (*.yml, .git and .github skipped)."""
    root = Path(directory)
    if not root.is_dir():
        return []
    return [Path(p) for p in capa.rules.collect_rule_file_paths([root])]


def cache_dir():
    """Where capa caches the loaded rules: XDG_CACHE_HOME/capa if writable, else a fresh dir in /tmp."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ.get("HOME") or "/tmp", ".cache")
    directory = os.path.join(base, "capa")
    try:
        os.makedirs(directory, exist_ok=True)
        if os.access(directory, os.W_OK):
            return Path(directory)
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="capa-cache-"))


class BadBundle(Exception):
    """The bundle does not load: capa's own message, naming the rule file where it can."""


def load(directory):
    """The RuleSet of the bundle at `directory`; raises BadBundle with capa's message."""
    files = rule_files(directory)
    if not files:
        raise BadBundle("no capa rules (*.yml files) in %s" % directory)
    current = {"path": None}

    def on_load(path, index, total):
        current["path"] = path

    def where():
        path = current["path"]
        return os.path.relpath(str(path), str(directory)) if path else str(directory)

    try:
        return capa.rules.get_rules([Path(directory)], cache_dir=cache_dir(), on_load_rule=on_load)
    except capa.rules.InvalidRuleSet as e:
        raise BadBundle("invalid rule set: %s" % e) from e
    except capa.rules.InvalidRule as e:
        raise BadBundle("%s: %s" % (where(), e)) from e
    except yaml.YAMLError as e:
        raise BadBundle("%s: invalid YAML: %s" % (where(), " ".join(str(e).split()))) from e
    except UnicodeDecodeError as e:
        raise BadBundle("%s: not UTF-8 text: %s" % (where(), e)) from e
    except OSError as e:
        raise BadBundle("%s: %s" % (where(), e)) from e


def rule_names(ruleset):
    """The names of the bundle's own rules (not the subscope rules capa derives from them)."""
    return sorted(name for name, rule in ruleset.rules.items() if not rule.meta.get("capa/subscope-rule"))
