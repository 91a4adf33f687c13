"""
Tier blocks are the single description of a tier: a toy tier file, added in a
fixture and nothing else, shows up in the role map, the validation, HAProxy's
listeners and hastack.deploy's order. The derivations themselves are plain
functions, table-tested here too.
"""

import copy
import json
import shutil

import pytest
import salt.client
import salt.config
import salt.utils.yaml
from saltmod_loader import load_salt_module
from test_lb_render import haproxy_cfg, listen_block

TOY_TIER = """\
values:
  tiers:
    toy:
      roles: [toy]
      after: [memcached]
      deploy: {serial: true}
      services: [toyd]
      drain: true
      ports: [7777]
      secrets: [toy_token]
      databases:
        toy: {user: toy, secret: db_toy}
      frontends:
        toy: {port: 7777, mode: http, check: {request: GET /health}}
      quorum: {label: toy hosts, roles: [toy], odd: true, minimum: 3, fix: add a toy host}
  toy:
    port: 7777
"""

HOSTS = {f"ctl{i}": {"ip": f"10.250.0.1{i}"} for i in (1, 2, 3)}


def secrets_for(mod, config):
    return {name: f"{name}-0123456789abcdef" for name in mod.all_secret_names(config)}


@pytest.fixture(scope="module")
def toy_roots(tmp_path_factory):
    """The formula as a master serves it, plus parameters/tiers/toy.yaml."""
    from test_map_render import PROBE_SLS  # noqa: PLC0415  (the probe dumping mapdata)

    repo = __import__("pathlib").Path(__file__).resolve().parents[2]
    roots = tmp_path_factory.mktemp("toy_roots")
    formula = roots / "hastack"
    formula.mkdir()
    for entry in (repo / "hastack").iterdir():
        if entry.name != "parameters":
            (formula / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    shutil.copytree(repo / "hastack" / "parameters", formula / "parameters")
    (formula / "parameters" / "tiers" / "toy.yaml").write_text(TOY_TIER)
    (roots / "orch").symlink_to(repo / "orch", target_is_directory=True)
    (roots / "hastack_probe").mkdir()
    (roots / "hastack_probe" / "mapdata.sls").write_text(PROBE_SLS)
    return repo, roots


@pytest.fixture(scope="module")
def toy_caller(toy_roots, tmp_path_factory):
    repo, roots = toy_roots
    state = tmp_path_factory.mktemp("toy_minion")
    conf = state / "minion"
    conf.write_text(salt.utils.yaml.safe_dump({
        "id": "ctl1", "file_client": "local", "file_roots": {"base": [str(roots)]},
        "pillar_roots": {"base": [str(tmp_path_factory.mktemp("toy_pillar"))]},
        "cachedir": str(state / "cache"), "pki_dir": str(state / "pki"), "sock_dir": str(state / "sock"),
        "log_file": str(state / "minion.log"), "grains": {"os_family": "Debian"}, "grains_cache": False,
        "module_dirs": [str(repo / "_modules")], "states_dirs": [str(repo / "_states")],
    }))
    return salt.client.Caller(mopts=salt.config.minion_config(str(conf)))


@pytest.fixture(scope="module")
def toy_pillar(toy_roots):
    repo, _ = toy_roots
    mod = load_salt_module("_modules", "hastack")
    defaults, tier_docs, os_family = mod.read_layers(repo / "hastack")
    tier_docs.append(salt.utils.yaml.safe_load(TOY_TIER))
    hastack = {
        "network": {"cidr": "10.250.0.0/24", "vip": "10.250.0.10"},
        "hosts": HOSTS,
        "roles": {"lb": ["ctl1", "ctl2", "ctl3"], "cache": ["ctl1", "ctl2", "ctl3"], "toy": ["ctl1", "ctl2", "ctl3"]},
    }
    hastack["secrets"] = secrets_for(mod, mod.merge_config(defaults, hastack, os_family, tier_docs))
    return {"hastack": hastack}


def test_toy_tier_in_role_map_backends_and_deploy_order(toy_caller, toy_pillar):
    result = toy_caller.cmd("state.show_sls", "hastack_probe.mapdata", pillar=copy.deepcopy(toy_pillar))
    assert isinstance(result, dict), result
    mapdata = json.loads(result["hastack_probe_mapdata"]["test"][0]["text"])
    assert mapdata["role_tiers"]["toy"] == ["toy"]
    assert mapdata["my_tiers"] == ["haproxy", "keepalived", "memcached", "toy"]
    assert "db_toy" in mapdata["required_secrets"]["toy"] and "toy_token" in mapdata["required_secrets"]["toy"]
    assert mapdata["watch"]["toy"] == {"roles": ["toy"], "services": ["toyd"], "drain": True, "health": {},
                                     "processes": {}}
    order = mapdata["deploy"]["order"]
    assert order.index("memcached") < order.index("toy")
    listen = listen_block(haproxy_cfg(mapdata), "toy")
    assert "bind 10.250.0.10:7777" in listen and "option httpchk GET /health" in listen
    assert [line.split()[1] for line in listen if line.startswith("server ")] == ["ctl1", "ctl2", "ctl3"]


def test_toy_tier_in_the_deploy_orchestration(toy_caller, toy_pillar):
    result = toy_caller.cmd("state.show_sls", "orch.deploy", pillar=copy.deepcopy(toy_pillar))
    assert isinstance(result, dict), result
    ids = sorted(result, key=lambda i: order_of(result, i))
    # One host at a time (serial), after memcached is done, then its done marker.
    toy = [i for i in ids if i.startswith("hastack-deploy-toy-")]
    assert toy == ["hastack-deploy-toy-started", "hastack-deploy-toy-ctl1-applied", "hastack-deploy-toy-ctl2-applied",
                   "hastack-deploy-toy-ctl3-applied", "hastack-deploy-toy-done"]
    assert requires(result, "hastack-deploy-toy-started") == [{"test": "hastack-deploy-memcached-done"}]
    assert requires(result, "hastack-deploy-toy-ctl2-applied") == [{"salt": "hastack-deploy-toy-ctl1-applied"}]
    # The auto-heal's beacons come last, once every tier runs.
    assert ids[-1] == "hastack-deploy-beacons-applied"
    assert requires(result, "hastack-deploy-beacons-applied") == [{"test": f"hastack-deploy-{order_last(result)}-done"}]


def order_last(rendered):
    """The tier whose done marker runs last."""
    dones = sorted((i for i in rendered if i.startswith("hastack-deploy-") and i.endswith("-done")),
                   key=lambda i: order_of(rendered, i))
    return dones[-1][len("hastack-deploy-"):-len("-done")]


def _arg(rendered, state_id, name):
    """One argument of a state in state.show_sls output."""
    (args,) = [v for k, v in rendered[state_id].items() if not k.startswith("__")]
    return next(arg[name] for arg in args if isinstance(arg, dict) and name in arg)


def requires(rendered, state_id):
    return _arg(rendered, state_id, "require")


def order_of(rendered, state_id):
    return _arg(rendered, state_id, "order")


def test_toy_tier_in_the_validation(toy_caller, toy_pillar):
    pillar = copy.deepcopy(toy_pillar)
    assert toy_caller.cmd("hastack.validate", pillar=pillar) == {"valid": True, "errors": []}
    pillar["hastack"]["roles"]["toy"] = ["ctl1", "ctl2"]
    del pillar["hastack"]["secrets"]["toy_token"]
    errors = toy_caller.cmd("hastack.validate", pillar=pillar)["errors"]
    assert errors == ["hastack:secrets:toy_token is missing (needed by role(s) toy)",
                      "even number of toy hosts (2): add a toy host"]


# --------------------------------------------------------------------------
# The derivations as plain functions.
# --------------------------------------------------------------------------


@pytest.fixture
def mod():
    return load_salt_module("_modules", "hastack")


def config_with(mod, repo_root, **pillar):
    defaults, tier_docs, os_family = mod.read_layers(repo_root / "hastack")
    return mod.merge_config(defaults, pillar, os_family, tier_docs)


def test_deploy_order_follows_after_lists(mod, repo_root):
    order = mod.deploy_order(config_with(mod, repo_root))
    for tier, after in [("arbitrator", "galera"), ("keepalived", "haproxy"), ("keystone", "galera"),
                        ("keystone", "rabbitmq"), ("keystone", "keepalived"), ("nova", "placement"),
                        ("glance", "swift_proxy"), ("swift_proxy", "swift_storage")]:
        assert order.index(after) < order.index(tier), (after, tier)


@pytest.mark.parametrize("tiers, message", [
    ({"galera": {"after": ["rabbitmq"]}, "rabbitmq": {"after": ["galera"]}}, "form a cycle among"),
    ({"memcached": {"after": ["nosuch"]}}, "hastack:tiers:memcached:after names unknown tier(s) nosuch"),
])
def test_bad_after_lists_are_rejected(mod, repo_root, tiers, message):
    config = config_with(mod, repo_root, tiers=tiers)
    with pytest.raises(mod.TierOrderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        mod.deploy_order(config)
    assert any(message in error for error in mod.check_config(config))


def test_planned_tiers_are_known_roles_but_get_no_states(mod, repo_root):
    config = config_with(mod, repo_root, roles={"api": ["ctl1"]}, hosts={"ctl1": {"ip": "10.0.0.1"}})
    assert "api" in mod.known_roles(config)
    # keystone, placement and nova have states; glance is still planned.
    assert mod.role_tiers_of(config)["api"] == ["keystone", "placement", "nova"]
    assert [step["tier"] for step in mod.deploy_sequence(config)] == ["keystone", "placement", "nova"]
    assert list(mod.backends_of(config)) == ["keystone", "placement", "nova", "nova_metadata"]
    assert "nova" in mod.watch_of(config) and "glance" not in mod.watch_of(config)
    # Their databases and secrets are still known: the db hosts create them.
    assert {"keystone", "nova_api", "glance"} <= set(mod.databases_of(config))
    assert {"keystone_admin", "service_nova"} <= set(mod.required_secrets_of(config)["api"])


@pytest.mark.parametrize("storage, replicas, expected", [
    (["ctl1", "ctl2", "ctl3"], 3, []),
    (["ctl1", "ctl2"], 3, ["too few swift storage hosts (2): need at least 3 (role(s) swift_storage)"]),
    (["ctl1", "ctl2"], 2, []),
    (["ctl1"], "x", ["hastack:swift:replicas must be a positive integer, got 'x'"]),
])
def test_swift_storage_hosts_at_least_replicas(mod, repo_root, storage, replicas, expected):
    config = config_with(mod, repo_root, roles={"swift_storage": storage}, swift={"replicas": replicas})
    errors = []
    mod._check_tiers(config, mod._role_lists(config), errors)
    assert errors == expected


def test_one_writer_makes_backups_and_every_field_is_present(mod, repo_root):
    config = config_with(mod, repo_root, roles={"db": ["a", "b", "c"]},
                         hosts={h: {"ip": f"10.0.0.{i}"} for i, h in enumerate("abc", 1)})
    galera = mod.backends_of(config)["galera"]
    assert [(s["name"], s["ip"], s["backup"]) for s in galera["servers"]] == [
        ("a", "10.0.0.1", False), ("b", "10.0.0.2", True), ("c", "10.0.0.3", True)]
    assert galera["check"] == {"request": "", "port": 9200, "expect": "^[234]"}
    assert galera["timeout"] == "90m"
