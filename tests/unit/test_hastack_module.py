"""Unit tests of _modules/hastack.py and _states/hastack.py, without a Salt loader."""

import copy
import hashlib
import os

import pytest
import salt.utils.yaml
from salt.exceptions import CommandExecutionError

# --------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------


# Roles of every host in pillar.example's converged layout.
ALL_BUT_ARBITRATOR = ["api", "cache", "dashboard", "db", "lb", "mq", "swift_proxy", "swift_storage"]


def real_secret(name):
    """A deterministic, long enough, placeholder-free secret per name."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def split_layout():
    """The split layout of pillar.example's comment, with an arbitrator."""
    hosts = ["lb1", "lb2", "db1", "db2", "garb1", "api1", "api2", "api3", "sp1", "sp2", "ss1", "ss2", "ss3"]
    return {
        "network": {"cidr": "10.250.0.0/24", "vip": "10.250.0.10", "domain": ""},
        "hosts": {name: {"ip": f"10.250.0.{21 + i}"} for i, name in enumerate(hosts)},
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


@pytest.fixture
def defaults_doc(repo_root, hastack_module):
    """defaults.yaml with every tier file merged in, as one layer."""
    defaults, tier_docs, _ = hastack_module.read_layers(repo_root / "hastack")
    return {"values": hastack_module.merge_config(defaults, {}, None, tier_docs)}


@pytest.fixture
def example_pillar(repo_root):
    """pillar.example as shipped (every secret CHANGE_ME)."""
    return salt.utils.yaml.safe_load((repo_root / "pillar.example").read_text())


@pytest.fixture
def layouts(example_pillar, defaults_doc, hastack_module):
    """Valid hastack pillars: pillar.example and the split layout, real secrets."""
    names = set(example_pillar["hastack"]["secrets"])
    names.update(hastack_module.all_secret_names(defaults_doc["values"]))
    secrets = {name: real_secret(name) for name in sorted(names)}
    converged = copy.deepcopy(example_pillar["hastack"])
    converged["secrets"] = dict(secrets)
    split = split_layout()
    split["secrets"] = dict(secrets)
    return {"converged": converged, "split": split}


def apply_ops(config, ops):
    """Edit a config in place. ops: (verb, "colon:path", value) with verb set/del/append."""
    for verb, path, *value in ops:
        *parents, last = path.split(":")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        if verb == "set":
            node[last] = value[0]
        elif verb == "del":
            del node[last]
        elif verb == "append":
            node[last].append(value[0])
        else:
            raise ValueError(verb)
    return config


def errors_of(mod, defaults_doc, hastack):
    return mod.check_pillar({"hastack": hastack}, defaults_doc)


# --------------------------------------------------------------------------
# Valid layouts
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout, ops",
    [
        ("converged", []),
        ("split", []),
        # 2 db + 1 arbitrator is an odd quorum of 3.
        ("converged", [("set", "roles:db", ["ctl1", "ctl2"]), ("set", "roles:arbitrator", ["ctl3"])]),
        # 4 db + 1 arbitrator is an odd quorum of 5.
        (
            "converged",
            [
                ("set", "hosts:ctl4", {"ip": "10.250.0.14"}),
                ("set", "hosts:ctl5", {"ip": "10.250.0.15"}),
                ("set", "roles:db", ["ctl1", "ctl2", "ctl3", "ctl4"]),
                ("set", "roles:arbitrator", ["ctl5"]),
            ],
        ),
        # Without an lb role no VIP is needed, nor the lb secrets (nor api hosts: keystone is reached by the VIP).
        ("converged", [("del", "roles:lb"), ("del", "roles:api"), ("set", "network:vip", ""),
                       ("del", "secrets:keepalived_auth")]),
        # Two full hosts plus a tie-breaker host: garbd and the third broker.
        ("converged", [("set", "roles:db", ["ctl1", "ctl2"]), ("set", "roles:arbitrator", ["ctl3"]),
                       ("set", "roles:lb", ["ctl1", "ctl2"]), ("set", "roles:cache", ["ctl1", "ctl2"])]),
        # Two brokers are the operator's explicit choice without pause_minority.
        ("converged", [("set", "roles:mq", ["ctl1", "ctl2"]),
                       ("set", "rabbitmq", {"cluster_partition_handling": "autoheal"})]),
        ("converged", [("set", "keepalived", {"vrid": 51})]),
        ("converged", [("set", "keepalived", {"instances": [{"name": "a", "vrid": 1}, {"name": "b", "vrid": 255}]})]),
        # A secret only an unused role needs may be absent.
        (
            "split",
            [
                ("del", "roles:swift_proxy"),
                ("del", "hosts:sp1"),
                ("del", "hosts:sp2"),
                ("del", "secrets:service_swift"),
            ],
        ),
    ],
    ids=["converged", "split", "2db+1arb", "4db+1arb", "two-host", "2mq-autoheal", "no-lb-no-vip", "vrid",
         "vrid-instances", "unused-secret"],
)
def test_valid(hastack_module, defaults_doc, layouts, layout, ops):
    config = apply_ops(copy.deepcopy(layouts[layout]), ops)
    assert errors_of(hastack_module, defaults_doc, config) == []


def test_pillar_example_only_lacks_secrets(hastack_module, defaults_doc, example_pillar):
    """Shipped pillar.example: one 'still CHANGE_ME' error per secret, nothing else."""
    errors = hastack_module.check_pillar(example_pillar, defaults_doc)
    secrets = example_pillar["hastack"]["secrets"]
    assert len(errors) == len(secrets)
    for name in secrets:
        assert any(f"hastack:secrets:{name} is still CHANGE_ME" in e for e in errors), name


# --------------------------------------------------------------------------
# Invalid layouts: each case its own message(s), and exactly that many.
# --------------------------------------------------------------------------

SHORT_SECRET = "shortpw123"  # 10 characters
CHANGE_ME_SECRET = "please-Change_Me-before-prod-0001"

# fmt: off
BAD_CASES = [
    ("missing-hastack", None, None, ["pillar hastack is missing"]),
    ("unknown-role", "converged", [("set", "roles:frontend", ["ctl1"])], ["unknown role 'frontend' in hastack:roles"]),
    ("role-not-list", "converged", [("set", "roles:cache", "ctl1")], ["hastack:roles:cache must be a list"]),
    ("role-null", "split", [("set", "roles:cache", None)],
     ["hastack:roles:cache must be a list of minion ids (use [] for none), got NoneType"]),
    ("role-duplicate-member", "converged", [("append", "roles:mq", "ctl1")],
     ["hastack:roles:mq lists minion 'ctl1' more than once"]),
    ("minion-in-no-role", "converged", [("set", "hosts:ctl4", {"ip": "10.250.0.14"})],
     ["hastack:hosts:ctl4 is in no role"]),
    ("minion-without-host", "converged", [("append", "roles:api", "ctl4")],
     ["minion 'ctl4' (role(s) api) has no entry in hastack:hosts"]),
    ("host-without-ip", "converged", [("set", "hosts:ctl3", {})], ["hastack:hosts:ctl3 has no ip"]),
    ("invalid-ip", "converged", [("set", "hosts:ctl3:ip", "10.250.0.300")],
     ["hastack:hosts:ctl3:ip '10.250.0.300' is not a valid IP address"]),
    ("duplicate-ip", "converged", [("set", "hosts:ctl2:ip", "10.250.0.11")],
     ["duplicate IP 10.250.0.11 in hastack:hosts: ctl1, ctl2"]),
    ("cidr-missing", "converged", [("set", "network:cidr", "")], ["hastack:network:cidr is missing"]),
    ("cidr-invalid", "converged", [("set", "network:cidr", "10.250.0.0/33")],
     ["hastack:network:cidr '10.250.0.0/33' is not a valid network"]),
    ("cidr-host-bits", "converged", [("set", "network:cidr", "10.250.0.1/24")],
     ["hastack:network:cidr '10.250.0.1/24' has host bits set (did you mean 10.250.0.0/24?)"]),
    ("ip-outside-cidr", "converged", [("set", "hosts:ctl3:ip", "10.251.0.13")],
     ["hastack:hosts:ctl3:ip 10.251.0.13 is outside hastack:network:cidr 10.250.0.0/24"]),
    ("vip-outside-cidr", "converged", [("set", "network:vip", "10.9.9.9")],
     ["hastack:network:vip 10.9.9.9 is outside hastack:network:cidr 10.250.0.0/24"]),
    ("vip-missing", "split", [("del", "network:vip")],
     ["hastack:network:vip is missing but role lb has members (lb1, lb2)"]),
    ("vip-invalid", "converged", [("set", "network:vip", "vip.example")],
     ["hastack:network:vip 'vip.example' is not a valid IP address"]),
    ("vip-is-host-ip", "converged", [("set", "network:vip", "10.250.0.12")],
     ["hastack:network:vip 10.250.0.12 is also the ip of host ctl2"]),
    ("secret-missing", "converged", [("del", "secrets:db_nova")],
     ["hastack:secrets:db_nova is missing (needed by role(s) api, db)"]),
    ("secret-change-me", "converged", [("set", "secrets:galera_sst", "CHANGE_ME")],
     ["hastack:secrets:galera_sst is still CHANGE_ME"]),
    ("secret-contains-change-me", "converged", [("set", "secrets:galera_sst", CHANGE_ME_SECRET)],
     ["hastack:secrets:galera_sst is still CHANGE_ME"]),
    ("secret-short", "converged", [("set", "secrets:rabbit_cookie", SHORT_SECRET)],
     ["hastack:secrets:rabbit_cookie is too short: 10 characters, need at least 16"]),
    ("secret-not-string", "converged", [("set", "secrets:rabbit_cookie", 12345678901234567890)],
     ["hastack:secrets:rabbit_cookie must be a string"]),
    ("secret-min-length-from-pillar", "converged", [("set", "secret_min_length", 40)],
     ["need at least 40"] * 18),
    ("change-me-nested", "converged", [("set", "memcached:user", "CHANGE_ME")],
     ["hastack:memcached:user contains the placeholder CHANGE_ME"]),
    ("change-me-in-list", "converged", [("set", "common:pkgs", ["vim", "change_me-pkg"])],
     ["hastack:common:pkgs:1 contains the placeholder CHANGE_ME"]),
    ("change-me-unused-secret", "converged", [("set", "secrets:extra_token", "CHANGE_ME")],
     ["hastack:secrets:extra_token contains the placeholder CHANGE_ME"]),
    ("two-db", "converged", [("set", "roles:db", ["ctl1", "ctl2"])],
     ["even number of Galera voters (2): add an arbitrator"]),
    ("one-db", "converged", [("set", "roles:db", ["ctl1"])], ["too few Galera voters (1)"]),
    ("four-db", "converged",
     [("set", "hosts:ctl4", {"ip": "10.250.0.14"}), ("set", "roles:db", ["ctl1", "ctl2", "ctl3", "ctl4"])],
     ["even number of Galera voters (4): add an arbitrator"]),
    ("split-without-arbitrator", "split",
     [("set", "roles:arbitrator", []), ("set", "roles:cache", ["api1", "api2", "garb1"])],
     ["even number of Galera voters (2): add an arbitrator"]),
    ("arbitrator-without-db", "converged", [("set", "roles:db", []), ("set", "roles:arbitrator", ["ctl3"])],
     ["role arbitrator has members (ctl3) but role db has none"]),
    ("db-and-arbitrator", "converged", [("set", "roles:arbitrator", ["ctl3"])],
     ["minion 'ctl3' is in both roles db and arbitrator", "even number of Galera voters (4)"]),
    ("two-mq", "converged", [("set", "roles:mq", ["ctl1", "ctl2"])],
     ["even number of RabbitMQ nodes (2): with pause_minority a partition into halves pauses every node, "
      "and with 2 nodes any single loss pauses the survivor"]),
    ("one-mq", "converged", [("set", "roles:mq", ["ctl1"])], ["too few RabbitMQ nodes (1)"]),
    ("four-mq", "split", [("set", "roles:mq", ["api1", "api2", "api3", "garb1"])],
     ["even number of RabbitMQ nodes (4)"]),
    ("vrid-zero", "converged", [("set", "keepalived", {"vrid": 0})],
     ["hastack:keepalived:vrid 0 must be an integer between 1 and 255"]),
    ("vrid-256", "converged", [("set", "keepalived", {"vrid": 256})],
     ["hastack:keepalived:vrid 256 must be an integer between 1 and 255"]),
    ("vrid-string", "converged", [("set", "keepalived", {"vrid": "51"})],
     ["hastack:keepalived:vrid '51' must be an integer between 1 and 255"]),
    ("vrid-duplicate", "converged",
     [("set", "keepalived", {"instances": [{"name": "VI_api", "vrid": 61}, {"name": "VI_db", "vrid": 61}]})],
     ["duplicate VRID 61: used by hastack:keepalived:instances:0 (VI_api), hastack:keepalived:instances:1 (VI_db)"]),
    ("vrid-duplicate-scalar-and-instance", "converged",
     [("set", "keepalived", {"vrid": 7, "instances": [{"name": "VI_x", "vrid": 7}, {"name": "VI_y", "vrid": 300}]})],
     ["duplicate VRID 7: used by hastack:keepalived:vrid, hastack:keepalived:instances:0 (VI_x)",
      "hastack:keepalived:instances:1:vrid 300 must be an integer between 1 and 255"]),
    ("galera-keepalive-too-long", "converged",
     [("set", "galera", {"failure_detection": {"evs.keepalive_period": "PT1S", "evs.suspect_timeout": "PT0.8S"}})],
     ["galera evs.keepalive_period (PT1S) must not exceed evs.suspect_timeout/3 (PT0.8S)"]),
    ("galera-check-period-too-long", "converged",
     [("set", "galera", {"provider_options": {"evs.inactive_check_period": "PT1S", "evs.suspect_timeout": "PT1S"}})],
     ["galera evs.inactive_check_period (PT1S) must not exceed evs.suspect_timeout/2 (PT1S)"]),
    # provider_options win over failure_detection, and are checked as the server will see them.
    ("galera-install-after-inactive", "converged",
     [("set", "galera", {"failure_detection": {"evs.inactive_timeout": "PT5S"},
                         "provider_options": {"evs.install_timeout": "PT6S"}})],
     ["galera evs.install_timeout (PT6S) must not exceed evs.inactive_timeout (PT5S)"]),
    ("galera-period-format", "converged",
     [("set", "galera", {"provider_options": {"evs.suspect_timeout": "1s"}})],
     ["galera evs.suspect_timeout '1s' must be a period like PT0.8S"]),
    ("several-at-once", "split",
     [
         ("set", "roles:frontend", ["api1"]),
         ("set", "hosts:db2:ip", "10.250.0.21"),
         ("del", "secrets:haproxy_stats"),
         ("set", "secrets:swift_hash_suffix", SHORT_SECRET),
         ("set", "memcached:logfile", "/var/log/CHANGE_ME.log"),
         ("set", "network:vip", "10.9.9.9"),
         ("set", "roles:arbitrator", []),
         ("set", "roles:cache", ["api1", "api2", "garb1"]),
     ],
     [
         "unknown role 'frontend'",
         "duplicate IP 10.250.0.21 in hastack:hosts: db2, lb1",
         "hastack:secrets:haproxy_stats is missing (needed by role(s) lb)",
         "hastack:secrets:swift_hash_suffix is too short",
         "hastack:memcached:logfile contains the placeholder CHANGE_ME",
         "hastack:network:vip 10.9.9.9 is outside",
         "even number of Galera voters (2)",
     ]),
]
# fmt: on


def _case_errors(mod, defaults_doc, layouts, layout, ops):
    if layout is None:
        return mod.check_pillar({"other": {}}, defaults_doc)
    return errors_of(mod, defaults_doc, apply_ops(copy.deepcopy(layouts[layout]), ops))


@pytest.mark.parametrize("layout, ops, expected", [case[1:] for case in BAD_CASES], ids=[case[0] for case in BAD_CASES])
def test_invalid(hastack_module, defaults_doc, layouts, layout, ops, expected):
    errors = _case_errors(hastack_module, defaults_doc, layouts, layout, ops)
    assert len(errors) == len(expected), errors
    unmatched = list(errors)
    for substring in expected:
        match = next((e for e in unmatched if substring in e), None)
        assert match is not None, f"{substring!r} not in {unmatched}"
        unmatched.remove(match)


def test_no_secret_value_in_any_message(hastack_module, defaults_doc, layouts):
    values = {SHORT_SECRET, CHANGE_ME_SECRET, "12345678901234567890"}
    values.update(layouts["converged"]["secrets"].values())
    messages = [
        message
        for _, layout, ops, _ in BAD_CASES
        for message in _case_errors(hastack_module, defaults_doc, layouts, layout, ops)
    ]
    assert messages
    leaked = [(value, m) for m in messages for value in values if value in m]
    assert leaked == []


def test_hastack_not_a_mapping(hastack_module, defaults_doc):
    assert hastack_module.check_pillar({"hastack": ["ctl1"]}, defaults_doc) == [
        "pillar hastack must be a mapping, got list"
    ]


# --------------------------------------------------------------------------
# Merge and queries
# --------------------------------------------------------------------------


def test_merge_dicts_recurse_lists_replace(hastack_module):
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    over = {"a": {"y": [3], "z": 2}, "c": 3}
    assert hastack_module._merge(base, over) == {"a": {"x": 1, "y": [3], "z": 2}, "b": 1, "c": 3}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


def test_merge_config_layers(hastack_module, defaults_doc):
    os_family_doc = {"values": {"memcached": {"pkg": "memcached-os", "memory_mb": 128}}}
    config = hastack_module.merge_config(defaults_doc, {"memcached": {"memory_mb": 256}}, os_family_doc)
    assert config["memcached"]["pkg"] == "memcached-os"
    assert config["memcached"]["memory_mb"] == 256
    assert config["memcached"]["port"] == 11211
    assert hastack_module.merge_config(None, {"roles": {}}) == {"roles": {}}


@pytest.mark.parametrize(
    "layout, minion, roles",
    [
        ("converged", "ctl1", ALL_BUT_ARBITRATOR),
        ("split", "db1", ["db"]),
        ("split", "api1", ["api", "cache", "dashboard", "mq"]),
        ("split", "api3", ["mq"]),
        ("split", "garb1", ["arbitrator"]),
        ("split", "nobody", []),
    ],
)
def test_roles_of(hastack_module, defaults_doc, layouts, layout, minion, roles):
    config = hastack_module.merge_config(defaults_doc, layouts[layout])
    assert hastack_module.roles_of(config, minion) == roles


def test_members_of_and_stack_minions(hastack_module, defaults_doc, layouts):
    split = hastack_module.merge_config(defaults_doc, layouts["split"])
    assert hastack_module.members_of(split, "swift_storage") == ["ss1", "ss2", "ss3"]
    assert hastack_module.members_of(split, "arbitrator") == ["garb1"]
    assert hastack_module.stack_minions_of(split) == sorted(layouts["split"]["hosts"])
    with pytest.raises(KeyError):
        hastack_module.members_of(split, "frontend")

    converged = hastack_module.merge_config(defaults_doc, layouts["converged"])
    assert hastack_module.members_of(converged, "arbitrator") == []
    assert hastack_module.stack_minions_of(converged) == ["ctl1", "ctl2", "ctl3"]
    assert hastack_module.ip_of(converged, "ctl2") == "10.250.0.12"
    assert hastack_module.ip_of(converged, "nobody") == ""


# --------------------------------------------------------------------------
# Salt-facing wrappers and the state, with hand-set loader dunders
# --------------------------------------------------------------------------


@pytest.fixture
def file_str(repo_root):
    """A stand-in for cp.get_file_str serving salt:// from the repo (False if absent, like cp)."""

    def get_file_str(path, saltenv="base"):
        target = repo_root / path.removeprefix("salt://")
        return target.read_text() if target.is_file() else False

    return get_file_str


@pytest.fixture
def list_master(repo_root):
    """A stand-in for cp.list_master listing the repo's files under a prefix."""

    def _list_master(saltenv="base", prefix=""):
        return sorted(str(p.relative_to(repo_root)) for p in (repo_root / prefix).rglob("*") if p.is_file())

    return _list_master


@pytest.fixture
def salt_mod(hastack_module, layouts, file_str, list_master):
    """The module as a minion ctl1 with the converged pillar would load it."""
    hastack_module.__pillar__ = {"hastack": copy.deepcopy(layouts["converged"])}
    hastack_module.__salt__ = {"cp.get_file_str": file_str, "cp.list_master": list_master}
    hastack_module.__grains__ = {"id": "ctl1", "os_family": "Debian"}
    hastack_module.__opts__ = {"id": "ctl1", "test": False}
    return hastack_module


def test_virtual(salt_mod, hastack_state_module):
    assert salt_mod.__virtual__() == "hastack"
    assert hastack_state_module.__virtual__() == "hastack"


def test_public_functions_document_cli_example(salt_mod):
    for name in ("roles", "members", "ip", "stack_minions", "validate"):
        assert "CLI Example:" in getattr(salt_mod, name).__doc__, name


def test_wrapper_queries(salt_mod, layouts):
    assert salt_mod.roles() == ALL_BUT_ARBITRATOR
    assert salt_mod.roles(minion="nobody") == []
    assert salt_mod.members("db") == ["ctl1", "ctl2", "ctl3"]
    assert salt_mod.ip() == "10.250.0.11"
    assert salt_mod.ip(minion="ctl3") == "10.250.0.13"
    assert salt_mod.stack_minions() == ["ctl1", "ctl2", "ctl3"]

    salt_mod.__pillar__ = {"hastack": layouts["split"]}
    salt_mod.__grains__ = {"os_family": "Debian"}  # no id grain: falls back to __opts__["id"]
    salt_mod.__opts__ = {"id": "db1", "test": False}
    assert salt_mod.roles() == ["db"]
    assert salt_mod.ip() == "10.250.0.23"
    assert salt_mod.members("arbitrator") == ["garb1"]


def test_wrapper_errors(salt_mod):
    with pytest.raises(CommandExecutionError, match="unknown role 'frontend'"):
        salt_mod.members("frontend")
    with pytest.raises(CommandExecutionError, match="minion 'nobody' has no ip"):
        salt_mod.ip(minion="nobody")
    with pytest.raises(CommandExecutionError, match="must be a dict"):
        salt_mod.validate(pillar="hastack")


def test_wrapper_validate(salt_mod, layouts):
    assert salt_mod.validate() == {"valid": True, "errors": []}

    bad = copy.deepcopy(layouts["converged"])
    bad["secrets"]["db_nova"] = "CHANGE_ME"
    bad["hosts"]["ctl2"]["ip"] = "10.250.0.11"
    report = salt_mod.validate(pillar={"hastack": bad})
    assert report["valid"] is False
    assert len(report["errors"]) == 2

    salt_mod.__pillar__ = {}
    assert salt_mod.validate()["errors"] == [
        "pillar hastack is missing: assign a pillar with a hastack: key to this minion (see pillar.example)"
    ]


def test_wrapper_uses_defaults_tier_and_os_family_files(salt_mod, list_master, repo_root):
    requested = []

    def get_file_str(path, saltenv="base"):
        requested.append(path)
        return False

    salt_mod.__salt__ = {"cp.get_file_str": get_file_str, "cp.list_master": list_master}
    # Without defaults there are no known roles or required secrets; queries still work.
    assert salt_mod.roles() == ALL_BUT_ARBITRATOR
    tier_files = sorted((repo_root / "hastack/parameters/tiers").glob("*.yaml"))
    assert requested == [
        "salt://hastack/parameters/defaults.yaml",
        *[f"salt://hastack/parameters/tiers/{path.name}" for path in tier_files],
        "salt://hastack/parameters/os_family/Debian.yaml",
    ]


def test_layers_are_kept_on_disk_between_jobs_and_read_afresh_by_a_state_run(salt_mod, file_str, list_master,
                                                                              tmp_path):
    requested = []

    def counting_file_str(path, saltenv="base"):
        requested.append(path)
        return file_str(path, saltenv)

    def new_job():
        # Each minion job gets a fresh __context__; only the disk copy outlives it.
        salt_mod.__context__ = {}
        requested.clear()

    salt_mod.__salt__ = {"cp.get_file_str": counting_file_str, "cp.list_master": list_master}
    salt_mod.__opts__ = {"id": "ctl1", "test": False, "cachedir": str(tmp_path)}
    try:
        new_job()
        first = salt_mod.mapdata()
        files_per_read = len(requested)
        assert files_per_read > 3
        new_job()
        assert salt_mod.mapdata() == first and requested == []  # another job: no master round trip
        new_job()
        assert salt_mod.mapdata(unmask=True, fresh=True)["roles"] == first["roles"]
        assert len(requested) == files_per_read  # map.jinja's read goes to the master
        # An old copy is read again.
        kept = tmp_path / "hastack" / "layers-Debian.json"
        old = kept.stat().st_mtime - salt_mod.LAYERS_CACHE_SECONDS - 1
        os.utime(kept, (old, old))
        new_job()
        salt_mod.mapdata()
        assert len(requested) == files_per_read
        # A failed read is never kept: the next job asks the master again.
        kept.unlink()
        salt_mod.__salt__ = {"cp.get_file_str": lambda path, saltenv="base": False, "cp.list_master": list_master}
        new_job()
        salt_mod.mapdata()
        assert not kept.exists()
    finally:
        del salt_mod.__context__


@pytest.fixture
def salt_state(hastack_state_module, salt_mod):
    hastack_state_module.__salt__ = {"hastack.validate": salt_mod.validate}
    hastack_state_module.__opts__ = {"test": False}
    return hastack_state_module


@pytest.mark.parametrize("test_mode", [False, True])
def test_state_valid(salt_state, test_mode):
    salt_state.__opts__ = {"test": test_mode}
    assert salt_state.validated("check") == {
        "name": "check",
        "result": True,
        "comment": "hastack pillar is valid",
        "changes": {},
    }


@pytest.mark.parametrize("test_mode", [False, True])
def test_state_invalid_lists_every_error(salt_state, salt_mod, test_mode):
    salt_state.__opts__ = {"test": test_mode}
    hastack = salt_mod.__pillar__["hastack"]
    hastack["roles"]["frontend"] = ["ctl1"]
    hastack["secrets"]["keystone_admin"] = "CHANGE_ME"
    hastack["network"]["vip"] = ""
    expected = salt_mod.validate()["errors"]
    assert len(expected) == 3

    ret = salt_state.validated("check")
    assert ret["result"] is False
    assert ret["changes"] == {}
    lines = ret["comment"].splitlines()
    assert lines[0] == "hastack pillar is invalid (3 problem(s)):"
    assert lines[1:] == [f"- {error}" for error in expected]


def test_state_passes_pillar_argument(salt_state):
    ret = salt_state.validated("check", pillar={"hastack": {}})
    assert ret["result"] is False
    assert "pillar hastack is missing" in ret["comment"]


def test_state_without_execution_module(hastack_state_module):
    hastack_state_module.__salt__ = {}
    hastack_state_module.__opts__ = {"test": False}
    ret = hastack_state_module.validated("check")
    assert ret["result"] is False
    assert "saltutil.sync_modules" in ret["comment"]


# --------------------------------------------------------------------------
# The same functions through a real Salt loader (masterless, in-process):
# catches what hand-set dunders cannot, e.g. __pillar__ not being a dict.
# --------------------------------------------------------------------------


@pytest.fixture
def loaded_caller(tmp_path, repo_root, layouts):
    import salt.client  # pylint: disable=import-outside-toplevel
    import salt.config  # pylint: disable=import-outside-toplevel

    formula = tmp_path / "formula"
    formula.mkdir()
    # Only the formula dir: the fileserver walks its roots.
    (formula / "hastack").symlink_to(repo_root / "hastack", target_is_directory=True)
    pillar = tmp_path / "pillar"
    pillar.mkdir()
    (pillar / "top.sls").write_text("base:\n  '*':\n    - hastack\n")
    (pillar / "hastack.sls").write_text(salt.utils.yaml.safe_dump({"hastack": layouts["converged"]}))
    opts = salt.config.minion_config(None)
    opts.update(
        id="ctl2",
        file_client="local",
        file_roots={"base": [str(formula)]},
        pillar_roots={"base": [str(pillar)]},
        module_dirs=[str(repo_root / "_modules")],
        states_dirs=[str(repo_root / "_states")],
        cachedir=str(tmp_path / "cache"),
        pki_dir=str(tmp_path / "pki"),
        sock_dir=str(tmp_path / "sock"),
        log_file=str(tmp_path / "minion.log"),
    )
    return salt.client.Caller(mopts=opts)


def test_through_salt_loader(loaded_caller, example_pillar):
    caller = loaded_caller
    assert caller.cmd("hastack.roles") == ALL_BUT_ARBITRATOR
    assert caller.cmd("hastack.ip") == "10.250.0.12"
    assert caller.cmd("hastack.members", "db") == ["ctl1", "ctl2", "ctl3"]
    assert caller.cmd("hastack.stack_minions") == ["ctl1", "ctl2", "ctl3"]
    assert caller.cmd("hastack.validate") == {"valid": True, "errors": []}
    report = caller.cmd("hastack.validate", pillar=example_pillar)
    assert len(report["errors"]) == len(example_pillar["hastack"]["secrets"])

    (ret,) = caller.cmd("state.single", "hastack.validated", "check").values()
    assert (ret["result"], ret["comment"], ret["changes"]) == (True, "hastack pillar is valid", {})
    # A pillar override reaches the execution module's __pillar__ in a state run.
    (ret,) = caller.cmd("state.single", "hastack.validated", "check", test=True, pillar=example_pillar).values()
    assert ret["result"] is False
    assert ret["changes"] == {}
    assert "hastack:secrets:db_nova is still CHANGE_ME" in ret["comment"]


def test_shipped_galera_timeouts_respect_galeras_limits(hastack_module, repo_root):
    doc = salt.utils.yaml.safe_load((repo_root / "hastack/parameters/tiers/galera.yaml").read_text())
    errors = []
    hastack_module._check_galera_timeouts(doc["values"], errors)
    assert errors == []
    assert doc["values"]["galera"]["failure_detection"]["evs.suspect_timeout"] == "PT0.8S"


# --------------------------------------------------------------------------
# Deploy: which hosts a rollout drains (from their dry runs)
# --------------------------------------------------------------------------
def dry_run(*states):
    """A saltutil.cmd answer of state.sls test=True: states given as (result, changes)."""
    return {"ret": {f"file_|-s{i}_|-s{i}_|-managed": {"result": result, "changes": changes}
                    for i, (result, changes) in enumerate(states)}, "retcode": 0}


@pytest.mark.parametrize("answer, rolled", [
    (dry_run((True, {})), False),
    (dry_run((True, {}), (None, {"diff": "x"})), True),  # a predicted change
    (dry_run((True, {"pid": 1})), True),                  # changes even with result True
    (dry_run((False, {})), True),                         # a failing state
    ({"ret": ["Rendering SLS failed"], "retcode": 1}, True),
    ({"ret": "Minion did not return", "retcode": 254}, True),
    ({"ret": {}, "retcode": 0}, True),                    # no state at all: not a proven no-op
    (None, True),                                         # no answer
])
def test_hosts_to_roll_keeps_every_host_not_proven_unchanged(hastack_module, answer, rolled):
    answers = {"ctl1": dry_run((True, {}))}
    if answer is not None:
        answers["ctl2"] = answer
    assert hastack_module.hosts_to_roll(["ctl1", "ctl2"], answers) == (["ctl2"] if rolled else [])


def test_serving_hosts_counts_only_a_true_health_answer(hastack_module):
    answers = {"ctl1": {"ret": True, "retcode": 0}, "ctl2": {"ret": False, "retcode": 0},
               "ctl3": {"ret": "'hastack_api.nova_healthy' is not available.", "retcode": 254},
               "ctl4": {"ret": True, "retcode": 1}, "ctl5": "no answer"}
    hosts = ["ctl5", "ctl4", "ctl3", "ctl2", "ctl1", "ctl6"]
    assert hastack_module.serving_hosts(hosts, answers) == ["ctl1"]
    assert hastack_module.serving_hosts(hosts, None) == []


def test_hosts_to_roll_keeps_the_given_order_and_takes_no_answers(hastack_module):
    assert hastack_module.hosts_to_roll(["ctl3", "ctl1"], None) == ["ctl3", "ctl1"]
