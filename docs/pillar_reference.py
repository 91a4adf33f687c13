#!/usr/bin/env python3
"""Writes docs/pillar-reference.md from the formula's defaults and their comments.

Every key the formula reads from pillar `hastack:` has a default in
hastack/parameters/ (defaults.yaml, then one file per tier); the comment above
a key is its meaning. This lists them all, so the reference cannot drift from
the defaults: tests/unit/test_pillar_reference.py regenerates it and compares.

    python3 docs/pillar_reference.py            # rewrite docs/pillar-reference.md
    python3 docs/pillar_reference.py --check    # exit 1 when it is out of date
"""

import json
import pathlib
import re
import sys

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
PARAMETERS = REPO / "hastack" / "parameters"
OUTPUT = REPO / "docs" / "pillar-reference.md"
KEY_LINE = re.compile(r"^(?P<indent> *)(?:- )?(?P<key>[A-Za-z0-9_.-]+):(?:\s|$)")
# Comment lines that are file headers or editor hints, not a key's meaning.
NOT_MEANING = re.compile(r"^(-\*-|vim:)")


def source_files():
    """defaults.yaml first, then the tier files by name (the order map.jinja merges them)."""
    return [PARAMETERS / "defaults.yaml", *sorted((PARAMETERS / "tiers").glob("*.yaml"))]


def key_comments(text):
    """{key path (tuple): meaning} from the comment lines right above each key.

    Paths start below `values:`. A list item's keys are not followed: a list is
    one setting, described by the comment above its own key.
    """
    comments, stack, pending = {}, [], []
    in_list_of = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if not NOT_MEANING.match(body):
                pending.append(body)
            continue
        if not stripped or stripped in ("---", "..."):
            pending = []
            continue
        match = KEY_LINE.match(line)
        indent = len(line) - len(line.lstrip(" "))
        if in_list_of is not None and indent > in_list_of:
            pending = []
            continue
        in_list_of = None
        if not match or stripped.startswith("- "):
            if stripped.startswith("- ") and stack:
                # A block list: its items belong to the key above.
                in_list_of = stack[-1][0]
            pending = []
            continue
        key = match.group("key")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        path = tuple(k for _, k in stack)
        if pending:
            comments[path] = " ".join(pending)
        pending = []
    return {path[1:]: text for path, text in comments.items() if path and path[0] == "values"}


def leaves(data, path=()):
    """(path, value) for every setting: mappings are followed, anything else is one setting."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from leaves(value, (*path, str(key)))
    else:
        yield path, data


# Keys that mean the same in every tier; a comment above the key says more.
COMMON = {
    "pkg": "Debian package the tier installs.",
    "pkgs": "Debian packages the tier installs.",
    "service": "Its init (systemd) service name.",
    "config": "Path of the configuration file the formula writes.",
    "user": "OS user the service runs as.",
    "group": "OS group that may read the service's secrets files.",
    "log_dir": "Directory of its log files.",
    "logfile": "Its log file.",
    "pidfile": "Its pid file.",
    "port": "Port it listens on, at the host's stack IP.",
    "uwsgi_ini": "Path of its uwsgi ini file (Debian runs the API under uwsgi).",
    "wsgi_file": "The WSGI entry point uwsgi loads.",
    "processes": "uwsgi worker processes per host.",
    "threads": "Threads per uwsgi worker process.",
    "listen": "uwsgi's listen queue (connections waiting for a worker).",
    "db_driver": "SQLAlchemy driver of its database URL.",
    "db_options": "Query string appended to its database URL.",
    "service_user": "Keystone user the service authenticates as.",
    "service_project": "Keystone project of that user.",
    "service_type": "Service type in the keystone catalog.",
    "description": "Service description in the keystone catalog.",
}


def tier_fields():
    """{field: meaning} from the field table of hastack/parameters/tiers/README.md."""
    fields = {}
    for line in (PARAMETERS / "tiers" / "README.md").read_text().splitlines():
        match = re.match(r"^\| `([a-z_]+)` \| (.+) \|$", line)
        if match:
            fields[match.group(1)] = match.group(2)
    return fields


def meaning(path, comments, fields):
    """The key's own comment; else, for a tier block's field, its meaning in the
    tiers README; else what the key means in every tier; else the nearest
    enclosing key's comment (marked as such)."""
    if path in comments:
        return comments[path]
    if len(path) >= 3 and path[0] == "tiers" and path[2] in fields:
        return fields[path[2]].replace("\\|", "|")
    if path[-1] in COMMON and len(path) == 2:
        return COMMON[path[-1]]
    for cut in range(len(path) - 1, 0, -1):
        if path[:cut] in comments:
            return f"(part of `{':'.join(path[:cut])}`) {comments[path[:cut]]}"
    return COMMON.get(path[-1], "")


def show(value):
    text = json.dumps(value, sort_keys=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def rows(path):
    doc = yaml.safe_load(path.read_text()) or {}
    comments, fields = key_comments(path.read_text()), tier_fields()
    return [(key, value, meaning(key, comments, fields)) for key, value in leaves(doc.get("values", {}))]


def render():
    out = [
        "# Pillar reference",
        "",
        "<!-- Generated by docs/pillar_reference.py from hastack/parameters/: do not edit by hand. -->",
        "",
        "Every setting under pillar `hastack:`, its default and what it means. Pillar",
        "overrides any of them (`map.jinja` merges `defaults.yaml`, the tier files, the",
        "os_family file, then pillar). Values shown as `null` or `\"\"` must come from",
        "pillar or are optional; secrets live under `hastack:secrets:` and have no",
        "default (validation names the missing ones). A tier's `tiers:<tier>` fields are",
        "explained in `hastack/parameters/tiers/README.md`.",
        "",
    ]
    for source in source_files():
        rel = source.relative_to(REPO)
        out += [f"## `{rel}`", "", "| key | default | meaning |", "|---|---|---|"]
        for key, value, text in rows(source):
            out.append(f"| `hastack:{':'.join(key)}` | `{cell(show(value))}` | {cell(text)} |")
        out.append("")
    return "\n".join(out)


def write_or_check(output, text, argv, script):
    """Write `text` to `output`, or with --check only compare: 1 when they differ."""
    if "--check" in argv:
        current = output.read_text() if output.exists() else ""
        if current != text:
            print(f"{output.relative_to(REPO)} is out of date: run python3 docs/{script}", file=sys.stderr)
            return 1
        return 0
    output.write_text(text)
    return 0


def main(argv):
    return write_or_check(OUTPUT, render(), argv, "pillar_reference.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
