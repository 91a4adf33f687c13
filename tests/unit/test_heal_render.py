"""
hastack.beacons rendered from pillar (masterless Caller, as test_map_render),
and the shipped master config against the runner's generator; the heal
orchestrations rendered as the master renders them.
"""

import copy
import pathlib

import pytest
import salt.utils.yaml
from saltmod_loader import load_salt_module
from test_galera_orch_render import SECRETS, orch  # noqa: F401  (fixture)
from test_map_render import CONVERGED, SPLIT, render, repo_root_module  # noqa: F401  (fixtures)

REPO = pathlib.Path(__file__).resolve().parents[2]


def beacon_states(render, layout, minion, **heal):
    hastack = copy.deepcopy(layout)
    if heal:
        hastack["heal"] = heal
    result = render.caller(minion, "Debian").cmd("state.show_sls", "hastack.beacons", pillar={"hastack": hastack})
    assert isinstance(result, dict), result
    states = {}
    for state_id, body in result.items():
        if state_id.startswith("__"):
            continue
        for module, args in body.items():
            if module.startswith("__"):
                continue
            fun = next(a for a in args if isinstance(a, str))
            options = {k: v for a in args if isinstance(a, dict) for k, v in a.items()}
            states[state_id] = (f"{module}.{fun}", options)
    return states


def test_converged_host_gets_every_beacon(render):
    states = beacon_states(render, CONVERGED, "ctl1")
    # No sync state: it is pending under test=True for ever (highstate and deploy sync the modules).
    assert not [i for i, (fun, _) in states.items() if fun.startswith("saltutil.")]
    fun, service = states["hastack-beacons-service-present"]
    assert fun == "beacon.present"
    assert service["name"] == "service" and service["save"] is True
    assert service["disable_during_state_run"] is True
    # The broker is the RabbitMQ beacon's (by process): its init-script status runs rabbitmqctl.
    assert sorted(service["services"]) == ["apache2", "haproxy", "hastack-galera-health", "keepalived", "keystone",
                                        "mariadb", "memcached", "nova-api", "nova-api-metadata", "nova-conductor",
                                        "nova-scheduler", "placement-api"]
    assert service["services"]["mariadb"] == {"onchangeonly": True, "delay": 2, "emitatstartup": False,
                                              "oncleanshutdown": False}
    assert states["hastack-beacons-hastack_galera-present"][1]["interval"] == 5
    rabbit = states["hastack-beacons-hastack_rabbitmq-present"][1]
    assert rabbit["node"] == "rabbit@ctl1" and rabbit["processes"] == {"rabbitmq-server": "-s rabbit boot"}


@pytest.mark.parametrize("minion, beacons, services", [
    ("db1", ["hastack_galera", "service"], ["hastack-galera-health", "mariadb"]),
    ("garb1", ["service"], ["garb"]),
    ("lb2", ["service"], ["haproxy", "keepalived"]),
    ("api1", ["hastack_rabbitmq", "service"], ["apache2", "keystone", "memcached", "nova-api", "nova-api-metadata",
                                               "nova-conductor", "nova-scheduler", "placement-api"]),
])
def test_split_hosts_get_their_tiers_beacons(render, minion, beacons, services):
    states = beacon_states(render, SPLIT, minion)
    present = sorted(o["name"] for f, o in states.values() if f == "beacon.present")
    assert present == beacons
    assert sorted(states["hastack-beacons-service-present"][1]["services"]) == services


def test_host_without_tiers_gets_no_beacon_state(render):
    assert beacon_states(render, SPLIT, "ss1") == {}


def test_pillar_tunes_the_beacons(render):
    # A minion of its own: a Caller built earlier in the process can render
    # with the id of the Caller built last, so every minion here is used
    # right after its Caller is made.
    layout = copy.deepcopy(SPLIT)
    layout["hosts"]["db3"] = {"ip": "10.250.0.40"}
    layout["roles"]["db"].append("db3")
    states = beacon_states(render, layout, "db3", beacons={"service_delay": 9, "cluster_interval": 30})
    assert states["hastack-beacons-service-present"][1]["services"]["mariadb"]["delay"] == 9
    assert states["hastack-beacons-hastack_galera-present"][1]["interval"] == 30


def test_highstate_includes_the_beacons():
    assert "  - hastack.beacons\n" in (REPO / "hastack/init.sls").read_text()


def test_shipped_master_config_is_the_generated_one():
    heal = load_salt_module("_runners", "hastack_heal")
    shipped = salt.utils.yaml.safe_load((REPO / "hastack/files/master.d/hastack-heal.conf").read_text())
    assert shipped == heal.master_config()
    reactors = {glob: files[0] for entry in shipped["reactor"] for glob, files in entry.items()}
    for path in reactors.values():
        assert (REPO / path.removeprefix("salt://")).is_file(), path
    assert shipped["engines"] == [{"hastack_heal": {"interval": 10}}]
    assert heal.master_config({"reconcile_interval": 3})["engines"] == [{"hastack_heal": {"interval": 3}}]


@pytest.mark.parametrize("name", ["service", "galera", "host_lost", "host_back"])
def test_reactors_are_tiny_and_name_their_orchestration(name):
    text = (REPO / "reactor" / f"{name}.sls").read_text()
    assert f"mods: orch.heal.{name}" in text
    assert (REPO / "orch" / "heal" / f"{name}.sls").is_file()
    assert "pillar[" not in text and "grains" not in text and "salt[" not in text


def test_host_back_queues_behind_a_state_run_still_going_on_the_host(orch):
    hastack = dict(copy.deepcopy(CONVERGED), secrets=dict(SECRETS))
    event = {"tag": "hastack/heal/reconcile/host_back/ctl3", "data": {"id": "ctl3", "kind": "host_back"}}
    high, _calls = orch("orch.heal.host_back", {"hastack": hastack, "event_data": event})
    applied = high["hastack-heal-host-back-ctl3-applied"]["args"]
    # A service heal's run still going on the host is waited for, not a failed host_back.
    assert applied["queue"] is True and applied["tgt"] == "ctl3" and applied["sls"] == "hastack"
    # No long timeout: a host that dies again during its host_back fails it
    # soon, so the reconciler can declare it lost again.
    assert "timeout" not in applied
    rejoin, _calls = orch("orch.rabbitmq.rejoin", {"hastack": hastack, "node": "ctl3"})
    assert rejoin["hastack-rabbitmq-rejoin-joined"]["args"]["queue"] is True
