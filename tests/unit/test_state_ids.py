"""
Every state ID under hastack/ follows one pattern:

    hastack-<sls>-[<what>-]<state>

<sls> is the sls path below hastack/ with dots as dashes and without `init`
(hastack/galera/clean.sls -> galera-clean, hastack/validate.sls -> validate),
so the ID says where it is defined: `hastack-<tier>-<sub-state>-...`.
<what> names the object when the sub-state alone does not (it may hold Jinja,
e.g. a host name), and <state> is the state it is brought to.
"""

import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SLS_FILES = sorted((REPO / "hastack").rglob("*.sls"))
STATES = ("installed", "removed", "managed", "absent", "present", "running", "dead", "joined",
          "validated", "emptied", "synced")
# A top-level key of an sls: an ID, or include/extend.
TOP_KEY = re.compile(r"^(?P<key>[^\s#{][^:]*|\{\{.*?\}\}[^:]*):\s*$")


def state_ids(path):
    ids = []
    for line in path.read_text().splitlines():
        match = TOP_KEY.match(line)
        if match and match.group("key") not in ("include", "extend"):
            ids.append(match.group("key"))
    return ids


def sls_prefix(path):
    parts = list(path.relative_to(REPO / "hastack").with_suffix("").parts)
    if parts[-1] == "init":
        parts.pop()
    return "hastack-" + "-".join(parts) + "-"


def test_the_pattern_sees_every_file_with_states():
    found = {p.relative_to(REPO).as_posix(): state_ids(p) for p in SLS_FILES}
    assert len([f for f, ids in found.items() if ids]) >= 30
    assert "hastack-galera-clean-service-dead" in found["hastack/galera/clean.sls"]


@pytest.mark.parametrize("path", SLS_FILES, ids=[p.relative_to(REPO).as_posix() for p in SLS_FILES])
def test_state_ids_follow_the_pattern(path):
    prefix = sls_prefix(path)
    tail = re.compile(r"^(?:[a-z0-9_.{}\[\]\" |-]+-)?(?:" + "|".join(STATES) + r")$")
    wrong = [sid for sid in state_ids(path)
             if not sid.startswith(prefix) or not tail.match(sid[len(prefix):])]
    assert not wrong, f"{path.name}: {wrong} do not match {prefix}[<what>-]<{'|'.join(STATES)}>"


@pytest.mark.parametrize("bad, path", [
    ("hastack-memcached-service-clean-dead", "memcached/clean.sls"),
    ("hastack-rabbitmq-cookie-file-managed", "rabbitmq/config.sls"),
    ("hastack-pillar-validated", "validate.sls"),
    ("hastack-galera-config-log-directory", "galera/config.sls"),
])
def test_the_check_rejects_the_old_ids(bad, path, tmp_path):
    prefix = sls_prefix(REPO / "hastack" / path)
    tail = re.compile(r"^(?:[a-z0-9_.{}\[\]\" |-]+-)?(?:" + "|".join(STATES) + r")$")
    assert not (bad.startswith(prefix) and tail.match(bad[len(prefix):]))
