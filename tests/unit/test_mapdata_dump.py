"""
hastack._mapdata writes what a minion's states see. Its output for the
converged and the split layout is compared with reviewed YAML files
(tests/unit/mapdata/), so any change to a default or a derived fact shows
up as a diff here. Regenerate them with HASTACK_UPDATE_MAPDATA=1 and review.
"""

import copy
import os
import pathlib

import pytest
import salt.utils.yaml
from saltmod_loader import load_salt_module
from test_map_render import CONVERGED, SPLIT, render, repo_root_module  # noqa: F401  (fixtures)

EXPECTED = pathlib.Path(__file__).parent / "mapdata"
SECRETS = {"haproxy_stats": "stats-0123456789abcdef", "rabbit_openstack": "rabbit-0123456789abcdef",
           "db_keystone": "keystone-db-0123456789abcdef", "keystone_fernet_seed": "fernet-seed-0123456789abcdef"}


@pytest.mark.parametrize("name, layout, minion", [
    ("converged-ctl1", CONVERGED, "ctl1"),
    ("split-db1", SPLIT, "db1"),
    ("split-lb2", SPLIT, "lb2"),
])
def test_mapdata_dump_matches_the_reviewed_file(render, name, layout, minion):
    pillar = {"hastack": dict(copy.deepcopy(layout), secrets=SECRETS)}
    result = render.caller(minion, "Debian").cmd("state.show_sls", "hastack._mapdata", pillar=pillar)
    assert isinstance(result, dict), result
    args = result["hastack-_mapdata-dump-file-managed"]["file"]
    dump = next(arg["context"] for arg in args if isinstance(arg, dict) and "context" in arg)["dump"]
    text = salt.utils.yaml.safe_dump(dump, default_flow_style=False)
    # Secrets are masked, also inside what is built from them.
    for secret in SECRETS.values():
        assert secret not in text
    # Nor a key derived from the seed: the key repositories show the mask.
    hastack = load_salt_module("_modules", "hastack")
    for number in range(1, 4):
        for label in ("fernet_tokens", "credential"):
            assert hastack.derive_key(SECRETS["keystone_fernet_seed"], label, number) not in text
    path = EXPECTED / f"{name}.yaml"
    if os.environ.get("HASTACK_UPDATE_MAPDATA") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"mapdata of {name} changed; review and regenerate {path.name}"
