"""
The custom beacons (_beacons/) with a fake __salt__, and hastack.beacons_of:
which beacons each host gets.
"""

import copy
import pathlib

import pytest
from salt.exceptions import CommandExecutionError
from saltmod_loader import load_salt_module

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def galera():
    return load_salt_module("_beacons", "hastack_galera")


@pytest.fixture
def rabbit():
    return load_salt_module("_beacons", "hastack_rabbitmq")


def feed(module, function, answers):
    """__salt__ whose ``function`` returns (or raises) the next of ``answers``."""
    queue = list(answers)

    def call():
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    module.__salt__ = {function: call}


SYNCED = {"wsrep_local_state_comment": "Synced", "wsrep_cluster_status": "Primary",
          "wsrep_cluster_size": "3", "wsrep_ready": "ON"}


@pytest.mark.parametrize("config, valid", [
    ([{"interval": 5}, {"disable_during_state_run": True}], True),
    ([{"interval": 5}, {"_beacon_name": "hastack_galera"}], True),
    ([], True),
    ({"interval": 5}, False),
    ([{"interval": 5}, {"color": "red"}], False),
])
def test_galera_validate(galera, config, valid):
    assert galera.validate(config)[0] is valid


def test_galera_fires_only_on_change(galera):
    feed(galera, "hastack_galera.status", [
        SYNCED, SYNCED,
        dict(SYNCED, wsrep_cluster_size="2"),
        dict(SYNCED, wsrep_cluster_status="non-Primary", wsrep_local_state_comment="Initialized",
             wsrep_cluster_size="1"),
        CommandExecutionError("cannot read wsrep status"),
        CommandExecutionError("cannot read wsrep status"),
    ])
    config = [{"interval": 5}]
    assert galera.beacon(config) == []          # first reading is only remembered
    assert galera.beacon(config) == []          # no change
    [shrunk] = galera.beacon(config)
    assert shrunk["tag"] == "synced" and shrunk["current"]["cluster_size"] == 2
    assert shrunk["previous"]["cluster_size"] == 3 and shrunk["healthy"] is True
    [lost] = galera.beacon(config)
    assert lost["tag"] == "non-primary" and lost["healthy"] is False
    assert lost["current"]["cluster_status"] == "non-Primary"
    [down] = galera.beacon(config)
    assert down["tag"] == "down" and down["current"]["ready"] is False
    assert galera.beacon(config) == []


def test_galera_emitatstartup(galera):
    feed(galera, "hastack_galera.status", [SYNCED])
    [first] = galera.beacon([{"emitatstartup": True}])
    assert first["previous"] is None and first["tag"] == "synced"


@pytest.mark.parametrize("status, condition", [
    (SYNCED, "synced"),
    (dict(SYNCED, wsrep_local_state_comment="Donor/Desynced"), "donor"),
    (dict(SYNCED, wsrep_local_state_comment="Joining: receiving State Transfer"), "joining:-receiving-state-transfer"),
    (dict(SYNCED, wsrep_local_state_comment="Joined"), "joining"),
    (dict(SYNCED, wsrep_cluster_status="Disconnected"), "non-primary"),
    ({}, "unknown"),
    (None, "down"),
])
def test_galera_summary(galera, status, condition):
    assert galera.summarize(status)["condition"] == condition


def test_galera_virtual_needs_the_client(galera, monkeypatch):
    monkeypatch.setattr(galera.salt.utils.path, "which", lambda name: None)
    ok, reason = galera.__virtual__()
    assert ok is False and "mariadb" in reason


RUNNING = {"members": ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"],
           "running": ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"], "stopped": [], "partitions": {}}


@pytest.mark.parametrize("config, valid", [
    ([{"node": "rabbit@ctl1"}, {"interval": 5}], True),
    ([{"interval": 5}], True),
    ([{"node": "ctl1"}], False),
    ([{"nodes": "rabbit@ctl1"}], False),
    ("node", False),
])
def test_rabbit_validate(rabbit, config, valid):
    assert rabbit.validate(config)[0] is valid


@pytest.mark.parametrize("status, condition", [
    (RUNNING, "healthy"),
    (dict(RUNNING, running=["rabbit@ctl1", "rabbit@ctl2"], stopped=["rabbit@ctl3"]), "degraded"),
    (dict(RUNNING, partitions={"rabbit@ctl1": ["rabbit@ctl3"]}), "partitioned"),
    # answers, but its own app does not run: paused by pause_minority
    (dict(RUNNING, running=["rabbit@ctl2", "rabbit@ctl3"], stopped=["rabbit@ctl1"]), "paused"),
    (None, "down"),
])
def test_rabbit_summary(rabbit, status, condition):
    assert rabbit.summarize(status, "rabbit@ctl1")["condition"] == condition


def test_rabbit_fires_only_on_change(rabbit):
    degraded = dict(RUNNING, running=["rabbit@ctl1", "rabbit@ctl2"], stopped=["rabbit@ctl3"])
    feed(rabbit, "hastack_rabbitmq.status", [RUNNING, RUNNING, degraded, degraded, None, RUNNING])
    config = [{"node": "rabbit@ctl1"}, {"interval": 5}]
    assert rabbit.beacon(config) == []
    assert rabbit.beacon(config) == []
    [event] = rabbit.beacon(config)
    assert event["tag"] == "degraded" and event["current"]["stopped"] == ["rabbit@ctl3"]
    assert rabbit.beacon(config) == []
    [event] = rabbit.beacon(config)
    assert event["tag"] == "down"
    [event] = rabbit.beacon(config)
    assert event["tag"] == "healthy" and event["healthy"] is True


def processes_and_status(module, alive, answers):
    """__salt__ with hastack.process_running answering from ``alive`` (a list,
    one answer per check) and hastack_rabbitmq.status from ``answers``; the
    status calls are counted in ``calls``."""
    alive, queue, calls = list(alive), list(answers), []

    def status():
        calls.append(1)
        return queue.pop(0)

    module.__salt__ = {"hastack.process_running": lambda signature: alive.pop(0), "hastack_rabbitmq.status": status}
    return calls


BROKER = {"rabbitmq-server": "-s rabbit boot"}


def test_rabbit_reports_a_killed_broker_without_asking_rabbitmqctl(rabbit, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(rabbit.time, "monotonic", lambda: clock[0])
    calls = processes_and_status(rabbit, [True, True, False, False, True], [RUNNING, RUNNING])
    config = [{"node": "rabbit@ctl1"}, {"processes": BROKER}, {"status_interval": 30}]
    assert rabbit.beacon(config) == [] and len(calls) == 1     # first check reads the status
    clock[0] += 5
    assert rabbit.beacon(config) == [] and len(calls) == 1     # not due: the last summary stands
    clock[0] += 5
    [event] = rabbit.beacon(config)
    assert event["tag"] == "stopped" and event["service_name"] == "rabbitmq-server"
    assert event["current"]["stopped_services"] == ["rabbitmq-server"] and len(calls) == 1
    clock[0] += 5
    assert rabbit.beacon(config) == [] and len(calls) == 1     # still stopped: no second event
    clock[0] += 5
    [event] = rabbit.beacon(config)                            # back: read at once, not 30 s later
    assert event["tag"] == "healthy" and "service_name" not in event and len(calls) == 2


def test_rabbit_reads_the_status_again_when_it_is_due(rabbit, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(rabbit.time, "monotonic", lambda: clock[0])
    paused = dict(RUNNING, running=["rabbit@ctl2", "rabbit@ctl3"], stopped=["rabbit@ctl1"])
    calls = processes_and_status(rabbit, [True] * 3, [RUNNING, paused])
    config = [{"node": "rabbit@ctl1"}, {"processes": BROKER}, {"status_interval": 30}]
    assert rabbit.beacon(config) == []
    clock[0] += 29
    assert rabbit.beacon(config) == [] and len(calls) == 1
    clock[0] += 1
    [event] = rabbit.beacon(config)
    assert event["tag"] == "paused" and len(calls) == 2


@pytest.mark.parametrize("previous, read_at, now, interval, due", [
    (None, None, 100, 30, True),
    ({"condition": "healthy"}, 90, 100, 30, False),
    ({"condition": "healthy"}, 70, 100, 30, True),
    ({"condition": "down"}, 99, 100, 30, True),
    ({"condition": "stopped"}, 99, 100, 30, True),
    ({"condition": "paused"}, 99, 100, 0, True),
])
def test_rabbit_status_due(rabbit, previous, read_at, now, interval, due):
    assert rabbit.status_due(previous, read_at, now, interval) is due


@pytest.mark.parametrize("config", [
    [{"processes": ["-s rabbit boot"]}],
    [{"processes": {"rabbitmq-server": ""}}],
    [{"status_interval": -1}],
    [{"status_interval": "often"}],
])
def test_rabbit_validate_rejects_bad_process_options(rabbit, config):
    assert rabbit.validate(config)[0] is False


def test_rabbit_virtual_needs_rabbitmqctl(rabbit, monkeypatch):
    monkeypatch.setattr(rabbit.salt.utils.path, "which", lambda name: None)
    ok, reason = rabbit.__virtual__()
    assert ok is False and "rabbitmqctl" in reason


# --- beacons_of: which beacons a host gets -------------------------------------------------------


@pytest.fixture(scope="module")
def layers():
    mod = load_salt_module("_modules", "hastack")
    return mod, mod.read_layers(REPO / "hastack")


def config_of(layers, hastack):
    mod, (defaults, tiers, family) = layers
    return mod.merge_config(defaults, copy.deepcopy(hastack), family, tiers)


SPLIT_ROLES = {"lb": ["lb1", "lb2"], "db": ["db1", "db2"], "arbitrator": ["garb1"],
               "mq": ["api1", "api2", "garb1"], "cache": ["api1", "api2"]}


SERVICE_OPTIONS = {"onchangeonly": True, "delay": 2, "emitatstartup": False, "oncleanshutdown": False}


def test_beacons_of_a_db_host(layers):
    mod, _ = layers
    beacons = mod.beacons_of(config_of(layers, {"roles": SPLIT_ROLES}), "db1")
    assert beacons == {
        "service": {"services": {
            "mariadb": SERVICE_OPTIONS,
            "hastack-galera-health": SERVICE_OPTIONS},
            "interval": 5, "disable_during_state_run": True},
        "hastack_galera": {"interval": 5, "disable_during_state_run": True},
    }


def test_beacons_of_an_arbitrator_and_broker(layers):
    mod, _ = layers
    beacons = mod.beacons_of(config_of(layers, {"roles": SPLIT_ROLES}), "garb1")
    # The broker is watched by its own beacon, by process: its init script's
    # status would start an Erlang VM at every check.
    assert sorted(beacons["service"]["services"]) == ["garb"]
    assert beacons["hastack_rabbitmq"] == {"node": "rabbit@garb1", "interval": 5, "status_interval": 30,
                                           "processes": {"rabbitmq-server": "-s rabbit boot"},
                                           "disable_during_state_run": True}
    assert "hastack_galera" not in beacons


def test_a_process_watched_service_needs_the_tiers_beacon(layers):
    """Without a custom beacon to watch it, a process-watched service stays with the service beacon."""
    mod, _ = layers
    config = copy.deepcopy(config_of(layers, {"roles": SPLIT_ROLES}))
    config["tiers"]["rabbitmq"].pop("beacon")
    beacons = mod.beacons_of(config, "garb1")
    assert sorted(beacons["service"]["services"]) == ["garb", "rabbitmq-server"]
    assert "hastack_rabbitmq" not in beacons


def test_processes_outside_the_tiers_services_are_ignored(layers):
    mod, _ = layers
    config = copy.deepcopy(config_of(layers, {"roles": SPLIT_ROLES}))
    config["tiers"]["rabbitmq"]["processes"]["epmd"] = "epmd -daemon"
    assert mod.watch_of(config)["rabbitmq"]["processes"] == {"rabbitmq-server": "-s rabbit boot"}


def test_beacons_of_follow_the_heal_settings(layers):
    mod, _ = layers
    config = config_of(layers, {"roles": SPLIT_ROLES,
                                "heal": {"beacons": {"service_delay": 7, "service_interval": 3,
                                                     "cluster_interval": 11}}})
    beacons = mod.beacons_of(config, "lb1")
    assert beacons["service"]["services"]["haproxy"]["delay"] == 7
    assert beacons["service"]["interval"] == 3
    assert sorted(beacons["service"]["services"]) == ["haproxy", "keepalived"]
    assert mod.beacons_of(config, "db1")["hastack_galera"]["interval"] == 11
    slower = config_of(layers, {"roles": SPLIT_ROLES, "heal": {"beacons": {"cluster_status_interval": 90}}})
    assert mod.beacons_of(slower, "api1")["hastack_rabbitmq"]["status_interval"] == 90


def test_no_roles_no_beacons(layers):
    mod, _ = layers
    assert mod.beacons_of(config_of(layers, {"roles": SPLIT_ROLES}), "stranger") == {}


def test_heal_services_index(layers):
    mod, _ = layers
    index = mod.heal_services_of(config_of(layers, {}))
    # A heal applies the sub-state that runs the service, not the whole tier.
    assert index["mariadb"] == {"tier": "galera", "sls": "hastack.galera.service", "drain": True,
                                "health": "hastack_galera.is_synced"}
    assert index["hastack-galera-health"]["sls"] == "hastack.galera.health"
    assert index["rabbitmq-server"]["sls"] == "hastack.rabbitmq.service"
    assert index["keepalived"]["drain"] is False
    assert index["keystone"] == {"tier": "keystone", "sls": "hastack.keystone.service", "drain": True,
                                 "health": "hastack_keystone.is_healthy"}
    assert index["placement-api"] == {"tier": "placement", "sls": "hastack.placement.service", "drain": True,
                                      "health": "hastack_api.placement_healthy"}
    assert index["nova-compute"] == {"tier": "compute", "sls": "hastack.compute.service", "drain": False,
                                     "health": "hastack_api.compute_healthy"}
    assert set(index) == {"garb", "mariadb", "hastack-galera-health", "haproxy", "keepalived", "memcached",
                          "rabbitmq-server", "keystone", "placement-api", "nova-api", "nova-api-metadata",
                          "nova-conductor", "nova-scheduler", "nova-compute", "apache2"}


def test_every_restart_sls_names_a_service_of_its_tier_and_an_existing_file(layers):
    mod, _ = layers
    config = config_of(layers, {})
    seen = 0
    for name, block in mod.tiers_of(config).items():
        for service, sls in (block.get("restart_sls") or {}).items():
            seen += 1
            assert service in block["services"], (name, service)
            assert (REPO / (sls.replace(".", "/") + ".sls")).is_file(), (name, sls)
    assert seen >= 7


def test_a_tier_without_restart_sls_is_healed_by_its_whole_sls(layers):
    mod, _ = layers
    config = copy.deepcopy(config_of(layers, {}))
    config["tiers"]["memcached"].pop("restart_sls")
    assert mod.heal_services_of(config)["memcached"]["sls"] == "hastack.memcached"
