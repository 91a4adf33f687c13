"""hastack_rabbitmq: cluster_status parsing and the join/forget decisions."""

import json

import pytest
from conftest import load_salt_module

rmq = load_salt_module("_modules", "hastack_rabbitmq")

N1, N2, N3 = "rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"


def sample(disk=(N1, N2, N3), running=(N1, N2, N3), partitions=None, alarms=None, name=N1):
    """The shape `rabbitmqctl cluster_status --formatter json` prints (3.10)."""
    return json.dumps({
        "alarms": alarms or [], "cluster_name": name, "disk_nodes": list(disk),
        "feature_flags": [{"name": "quorum_queue", "state": "enabled"}],
        "listeners": {N1: [{"interface": "10.250.0.11", "port": 5672, "protocol": "amqp"}]},
        "maintenance_status": {n: "not under maintenance" for n in disk},
        "partitions": partitions or {}, "ram_nodes": [], "running_nodes": list(running),
        "versions": {n: {"rabbitmq_version": "3.10.8"} for n in running},
    })


@pytest.mark.parametrize("raw, expect", [
    (sample(), {"running": [N1, N2, N3], "stopped": [], "partitions": {}, "alarms": [], "healthy": True}),
    (sample(running=(N2, N1)), {"running": [N1, N2], "stopped": [N3], "healthy": False}),
    (sample(partitions={N1: [N3]}), {"partitions": {N1: [N3]}, "healthy": False}),
    (sample(partitions={N1: []}), {"partitions": {}, "healthy": True}),
    (sample(alarms=[{"node": N2, "resource": "memory", "type": "resource_alarm"}]),
     {"alarms": [f"{N2}:memory:resource_alarm"], "healthy": False}),
    (sample(alarms=["disk_alarm"]), {"alarms": ["disk_alarm"], "healthy": False}),
])
def test_parse_cluster_status(raw, expect):
    parsed = rmq.parse_cluster_status(raw)
    assert parsed["members"] == [N1, N2, N3]
    for key, value in expect.items():
        assert parsed[key] == value, key


def view(members, running=None):
    members = sorted(members)
    return {"members": members, "running": sorted(running if running is not None else members)}


@pytest.mark.parametrize("me, mine, peers, target", [
    # Fresh nodes: the lowest name seeds, the others join it.
    (N1, view([N1]), {N2: view([N2]), N3: view([N3])}, None),
    (N2, view([N2]), {N1: view([N1]), N3: view([N3])}, N1),
    (N3, view([N3]), {N1: view([N1, N2]), N2: view([N1, N2])}, N1),
    # Formed cluster: nobody moves.
    (N2, view([N1, N2, N3]), {N1: view([N1, N2, N3]), N3: view([N1, N2, N3])}, None),
    # A reset node (alone again, still listed by the cluster) rejoins the larger cluster.
    (N3, view([N3]), {N1: view([N1, N2, N3], [N1, N2]), N2: view([N1, N2, N3], [N1, N2])}, N1),
    # The bigger running cluster wins even if a lower-named node is alone.
    (N1, view([N1]), {N2: view([N2, N3]), N3: view([N2, N3])}, N2),
    # Down peers are ignored; with nobody else running there is nothing to join.
    (N2, view([N2]), {N1: None, N3: None}, None),
    # A peer that answers but whose app is stopped is no target.
    (N2, view([N2]), {N1: view([N1], running=[])}, None),
    # A member whose cluster lost the others still belongs there.
    (N2, view([N1, N2, N3], [N2]), {N1: None, N3: None}, None),
])
def test_choose_join_target(me, mine, peers, target):
    assert rmq.choose_join_target(me, mine, peers) == target


def test_check_forget():
    status = rmq.parse_cluster_status(sample(running=(N1, N2)))
    assert rmq.check_forget(N3, status) == []
    assert "still running" in rmq.check_forget(N2, status)[0]
    lone_disk = {"members": [N1, N2], "disk_nodes": [N2], "running": [N1]}
    assert rmq.check_forget(N2, lone_disk) == ["forgetting rabbit@ctl2 would leave the cluster without a disc node"]


def test_forget_refuses_and_explains(monkeypatch):
    status = rmq.parse_cluster_status(sample())
    mod = load_salt_module("_modules", "hastack_rabbitmq")
    mod.__grains__ = {"id": "ctl1"}
    calls = []

    def run_all(cmd, **_kw):
        calls.append(cmd)
        return {"retcode": 0, "stdout": sample(), "stderr": ""}
    mod.__salt__ = {"cmd.run_all": run_all}
    mod.__pillar__ = {}
    with pytest.raises(rmq.CommandExecutionError, match="rabbit@ctl3 is still running"):
        mod.forget(N3)
    assert not any("forget_cluster_node" in c for c in calls)
    assert status["healthy"]


@pytest.mark.parametrize("node, raw, healthy", [
    (N2, sample(), True),
    # another member down: this node is still healthy
    (N2, sample(running=(N1, N2)), True),
    (N3, sample(running=(N1, N2)), False),
    (N2, sample(partitions={N1: [N3]}), False),
    (N2, sample(alarms=["disk_alarm"]), False),
    (N2, None, False),
])
def test_node_is_healthy(node, raw, healthy):
    seen = rmq.parse_cluster_status(raw) if raw else None
    assert rmq.node_is_healthy(node, seen) is healthy
