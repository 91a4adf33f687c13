"""
Render hastack/map.jinja in-process with a masterless salt-call Caller.

A probe sls, written to a second file_roots entry, dumps `mapdata` as JSON into
a state argument; `state.show_sls` renders it with the pillar of each case.
Building a Caller loads grains and modules (about half a second), so there is
one per (minion id, os_family), shared by the module; each render takes about
0.2 s.
"""

import copy
import json
import pathlib

import pytest
import salt.client
import salt.config
import salt.utils.yaml

PROBE_SLS = """\
{%- from "hastack/map.jinja" import mapdata with context %}
hastack_probe_mapdata:
  test.show_notification:
    - text: {{ mapdata | json | yaml_dquote }}
"""

# An os_family file only the probe roots have, to see where that layer sits.
PROBE_FAMILY = "HastackProbe"
PROBE_FAMILY_YAML = """\
values:
  memcached:
    pkg: memcached-probe
    memory_mb: 128
"""

CONVERGED = {
    "network": {"cidr": "10.250.0.0/24", "vip": "10.250.0.10"},
    "hosts": {"ctl1": {"ip": "10.250.0.11"}, "ctl2": {"ip": "10.250.0.12"}, "ctl3": {"ip": "10.250.0.13"}},
    "roles": {
        role: ["ctl1", "ctl2", "ctl3"]
        for role in ("lb", "db", "mq", "cache", "api", "dashboard", "swift_proxy", "swift_storage")
    },
}

SPLIT = {
    "network": {"cidr": "10.250.0.0/24", "vip": "10.250.0.10"},
    "hosts": {
        name: {"ip": f"10.250.0.{21 + i}"}
        for i, name in enumerate(
            ["lb1", "lb2", "db1", "db2", "garb1", "api1", "api2", "api3", "sp1", "sp2", "ss1", "ss2", "ss3"]
        )
    },
    "roles": {
        "lb": ["lb1", "lb2"],
        "db": ["db1", "db2"],
        "arbitrator": ["garb1"],
        "mq": ["api1", "api2", "api3"],
        "cache": ["api1", "api2"],
        "api": ["api1", "api2"],
        "dashboard": ["api1", "api2"],
        "swift_proxy": ["sp1", "sp2"],
        "swift_storage": ["ss1", "ss2", "ss3"],
    },
}


@pytest.fixture(scope="module")
def defaults(repo_root_module):
    doc = salt.utils.yaml.safe_load((repo_root_module / "hastack/parameters/defaults.yaml").read_text())
    return doc["values"]


@pytest.fixture(scope="module")
def repo_root_module():
    # repo_root is function-scoped; the module-scoped Callers need it too.
    return pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def render(tmp_path_factory, repo_root_module):
    """render(pillar, minion_id="ctl1", os_family="Debian") -> mapdata dict."""
    probe_roots = tmp_path_factory.mktemp("probe_roots")
    (probe_roots / "hastack_probe").mkdir()
    (probe_roots / "hastack_probe" / "mapdata.sls").write_text(PROBE_SLS)
    family_dir = probe_roots / "hastack" / "parameters" / "os_family"
    family_dir.mkdir(parents=True)
    (family_dir / f"{PROBE_FAMILY}.yaml").write_text(PROBE_FAMILY_YAML)
    pillar_roots = tmp_path_factory.mktemp("pillar_roots")
    # Serve only the formula dir, as a master would: the fileserver walks its
    # roots, and a work tree may hold a virtualenv or build output.
    formula_roots = tmp_path_factory.mktemp("formula_roots")
    (formula_roots / "hastack").symlink_to(repo_root_module / "hastack", target_is_directory=True)

    callers = {}

    def caller(minion_id, os_family):
        key = (minion_id, os_family)
        if key not in callers:
            state = tmp_path_factory.mktemp(f"minion_{minion_id}_{os_family}")
            # A real config file so that the static grain os_family is honoured
            # whatever the OS running the tests.
            conf = state / "minion"
            conf.write_text(
                salt.utils.yaml.safe_dump(
                    {
                        "id": minion_id,
                        "file_client": "local",
                        "file_roots": {"base": [str(formula_roots), str(probe_roots)]},
                        "pillar_roots": {"base": [str(pillar_roots)]},
                        "cachedir": str(state / "cache"),
                        "pki_dir": str(state / "pki"),
                        "sock_dir": str(state / "sock"),
                        "log_file": str(state / "minion.log"),
                        "grains": {"os_family": os_family},
                        # map.jinja hands the merged layers to hastack.derive.
                        "module_dirs": [str(repo_root_module / "_modules")],
                        "grains_cache": False,
                    }
                )
            )
            callers[key] = salt.client.Caller(mopts=salt.config.minion_config(str(conf)))
        return callers[key]

    def _render(pillar, minion_id="ctl1", os_family="Debian"):
        result = caller(minion_id, os_family).cmd(
            "state.show_sls", "hastack_probe.mapdata", pillar=copy.deepcopy(pillar)
        )
        # Render errors come back as a list of strings.
        assert isinstance(result, dict), result
        args = result["hastack_probe_mapdata"]["test"][0]
        return json.loads(args["text"])

    _render.caller = caller
    return _render


# Tiers with states, in deploy order (parameters/tiers/*.yaml).
CONVERGED_TIERS = ["galera", "haproxy", "keepalived", "memcached", "rabbitmq", "keystone", "horizon", "placement",
                   "nova"]


def test_defaults_without_pillar(render, defaults):
    mapdata = render({})
    assert mapdata["memcached"]["port"] == 11211
    assert mapdata["memcached"]["memory_mb"] == 64
    assert mapdata["common"]["pkgs"] == defaults["common"]["pkgs"]
    assert mapdata["role_tiers"]["lb"] == ["haproxy", "keepalived"]
    assert mapdata["role_tiers"]["api"] == ["keystone", "placement", "nova"]  # glance: planned, no states yet
    assert mapdata["role_tiers"]["dashboard"] == ["horizon"]
    assert mapdata["role_tiers"]["compute"] == ["compute"]
    assert (mapdata["my_roles"], mapdata["my_tiers"], mapdata["my_ip"]) == ([], [], "")
    assert mapdata["stack_minions"] == []
    assert mapdata["minion_id"] == "ctl1"


def test_pillar_overrides_and_lists_replace(render, defaults):
    pillar = {"hastack": {"memcached": {"memory_mb": 256}, "common": {"pkgs": ["vim"]}}}
    mapdata = render(pillar)
    assert mapdata["memcached"]["memory_mb"] == 256
    # Siblings of an overridden key keep their defaults: dicts merge.
    assert mapdata["memcached"]["port"] == 11211
    assert mapdata["common"]["manage_etc_hosts"] is True
    # Lists replace, they are not appended to.
    assert mapdata["common"]["pkgs"] == ["vim"]


def test_pillar_example_renders(render, repo_root_module):
    example = salt.utils.yaml.safe_load((repo_root_module / "pillar.example").read_text())
    mapdata = render(example)
    assert mapdata["memcached"]["memory_mb"] == 256
    assert mapdata["my_ip"] == "10.250.0.11"
    assert mapdata["stack_minions"] == ["ctl1", "ctl2", "ctl3"]


def test_converged_ctl1(render, defaults):
    mapdata = render({"hastack": CONVERGED})
    roles = sorted(CONVERGED["roles"])
    assert sorted(mapdata["my_roles"]) == roles
    assert mapdata["my_tiers"] == CONVERGED_TIERS
    assert "memcached" in mapdata["my_tiers"]
    assert mapdata["my_ip"] == "10.250.0.11"
    assert mapdata["stack_minions"] == ["ctl1", "ctl2", "ctl3"]


def test_split_db_only_minion(render, defaults):
    mapdata = render({"hastack": SPLIT}, minion_id="db1")
    assert mapdata["minion_id"] == "db1"
    assert mapdata["my_roles"] == ["db"]
    assert mapdata["my_tiers"] == ["galera"]
    assert "memcached" not in mapdata["my_tiers"]
    assert mapdata["my_ip"] == "10.250.0.23"
    assert mapdata["stack_minions"] == sorted(SPLIT["hosts"])


def test_tiers_come_only_from_own_roles(render):
    # A tier block's roles say who gets it: move memcached to the api role.
    pillar = {"hastack": dict(SPLIT, tiers={"memcached": {"roles": ["api"]}})}
    assert render(pillar, minion_id="db1")["my_tiers"] == ["galera"]
    # api1 has api (now memcached) and mq, but not db.
    assert render(pillar, minion_id="api1")["my_tiers"] == ["memcached", "rabbitmq", "keystone", "horizon",
                                                            "placement", "nova"]
    assert render(pillar, minion_id="garb1")["my_tiers"] == ["arbitrator"]
    assert render(pillar, minion_id="ss1")["my_tiers"] == []


def test_os_family_debian_file_applied(render, repo_root_module):
    debian = salt.utils.yaml.safe_load((repo_root_module / "hastack/parameters/os_family/Debian.yaml").read_text())
    mapdata = render({}, os_family="Debian")
    for section, values in debian["values"].items():
        for key, value in values.items():
            assert mapdata[section][key] == value, f"{section}:{key}"


def test_os_family_layer_sits_between_defaults_and_pillar(render):
    mapdata = render({}, os_family=PROBE_FAMILY)
    assert mapdata["memcached"]["pkg"] == "memcached-probe"
    assert mapdata["memcached"]["memory_mb"] == 128
    assert mapdata["memcached"]["port"] == 11211

    mapdata = render({"hastack": {"memcached": {"memory_mb": 256}}}, os_family=PROBE_FAMILY)
    assert mapdata["memcached"]["pkg"] == "memcached-probe"
    assert mapdata["memcached"]["memory_mb"] == 256
