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
    assert sorted(beacons["service"]["services"]) == ["garb", "rabbitmq-server"]
    assert beacons["hastack_rabbitmq"] == {"node": "rabbit@garb1", "interval": 5, "disable_during_state_run": True}
    assert "hastack_galera" not in beacons


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


def test_no_roles_no_beacons(layers):
    mod, _ = layers
    assert mod.beacons_of(config_of(layers, {"roles": SPLIT_ROLES}), "stranger") == {}


def test_heal_services_index(layers):
    mod, _ = layers
    index = mod.heal_services_of(config_of(layers, {}))
    assert index["mariadb"] == {"tier": "galera", "sls": "hastack.galera", "drain": True,
                                "health": "hastack_galera.is_synced"}
    assert index["keepalived"]["drain"] is False
    assert set(index) == {"garb", "mariadb", "hastack-galera-health", "haproxy", "keepalived", "memcached",
                          "rabbitmq-server"}
