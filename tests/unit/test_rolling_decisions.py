"""hastack_rolling: the rolling-restart plans (pure) and the restart functions
with a mocked __salt__ (refusals before anything restarts, waiting afterwards)."""

import pytest
from conftest import load_salt_module
from salt.exceptions import CommandExecutionError

rolling = load_salt_module("_modules", "hastack_rolling")

DB = ["ctl1", "ctl2", "ctl3"]
SERVERS = [{"name": "ctl1", "backup": False}, {"name": "ctl2", "backup": True},
           {"name": "ctl3", "backup": True}]


def wsrep(state="4", comment="Synced", cluster="Primary", size=3, ready="ON", uuid="u-1"):
    return {"wsrep_local_state": state, "wsrep_local_state_comment": comment,
            "wsrep_cluster_status": cluster, "wsrep_cluster_size": str(size), "wsrep_ready": ready,
            "wsrep_cluster_state_uuid": uuid}


def saltutil(values):
    """The shape saltutil.cmd returns: {minion: {"ret": ..., "retcode": ...}}."""
    return {m: {"ret": v, "retcode": 0 if isinstance(v, dict) else 1, "jid": "1"} for m, v in values.items()}


# ------------------------------------------------------------------ Galera plan
def test_healthy_cluster_restarts_the_writer_last():
    plan = rolling.galera_restart_plan(saltutil({m: wsrep() for m in DB}), DB, servers=SERVERS)
    assert plan["ok"], plan
    assert plan["order"] == ["ctl2", "ctl3", "ctl1"]
    assert plan["size"] == 3
    assert "writer ctl1 last" in plan["reason"]


def test_plain_mapping_and_every_writer_keep_member_order():
    every = [dict(s, backup=False) for s in SERVERS]
    plan = rolling.galera_restart_plan({m: wsrep() for m in DB}, DB, servers=every)
    assert plan["ok"] and plan["order"] == DB


def test_arbitrator_counts_towards_the_whole_cluster():
    two = ["db1", "db2"]
    assert rolling.galera_restart_plan({m: wsrep(size=3) for m in two}, two, arbitrators=["garb1"])["ok"]
    refused = rolling.galera_restart_plan({m: wsrep(size=2) for m in two}, two, arbitrators=["garb1"])
    assert not refused["ok"] and "not whole (expected size 3)" in refused["reason"]


@pytest.mark.parametrize("statuses, words", [
    ({"ctl1": wsrep(), "ctl2": wsrep()}, "ctl3 did not report"),
    ({"ctl1": wsrep(), "ctl2": wsrep(), "ctl3": "ERROR: cannot read wsrep status"}, "ctl3 did not report"),
    ({"ctl1": wsrep(), "ctl2": wsrep(state="2", comment="Donor/Desynced"), "ctl3": wsrep()},
     "ctl2 (Donor/Desynced, Primary)"),
    ({"ctl1": wsrep(cluster="non-Primary"), "ctl2": wsrep(), "ctl3": wsrep()}, "Not every member is Synced"),
    ({"ctl1": wsrep(ready="OFF"), "ctl2": wsrep(), "ctl3": wsrep()}, "Not every member is Synced"),
    ({"ctl1": wsrep(size=2), "ctl2": wsrep(size=2), "ctl3": wsrep()}, "ctl1 sees 2"),
    ({"ctl1": wsrep(uuid="a"), "ctl2": wsrep(uuid="b"), "ctl3": wsrep(uuid="b")}, "different cluster state UUIDs"),
])
def test_unhealthy_cluster_is_refused(statuses, words):
    plan = rolling.galera_restart_plan(saltutil(statuses), DB, servers=SERVERS)
    assert not plan["ok"] and plan["order"] == []
    assert words in plan["reason"], plan["reason"]


def test_no_members_is_refused():
    assert not rolling.galera_restart_plan({}, [])["ok"]


def test_state_transfer_from_the_log():
    # What a joiner logs with mariabackup when it gets IST (seen in the lab).
    ist = ("WSREP: Prepared IST receiver for 114-135, listening at: tcp://10.254.0.12:4568\n"
           "WSREP_SST: [INFO] 'xtrabackup_ist' received from donor: Running IST (20261127 16:00:50.561)\n"
           "WSREP_SST: [INFO] mariabackup IST completed on joiner (20261127 16:00:50.591)\n"
           "2026-11-27 16:00:50 3 [Note] WSREP: SST received\n"
           "2026-11-27 16:00:51 3 [Note] WSREP: SST received: 23f478cc:113\n"
           "2026-11-27 16:00:51 2 [Note] WSREP: IST received: 23f478cc:135\n")
    assert rolling.state_transfer(ist) == "IST"
    sst = ("WSREP_SST: [INFO] Proceeding with SST (20261127 16:00:50.000)\n"
           "WSREP_SST: [INFO] mariabackup SST completed on joiner (20261127 16:00:59.000)\n"
           "WSREP: SST received: 23f478cc:113\nWSREP: IST received: 23f478cc:120\n")
    assert rolling.state_transfer(sst) == "SST"
    assert rolling.state_transfer("WSREP: Synchronized with group, ready for connections") == "none"


# ---------------------------------------------------------------- RabbitMQ plan
NODES = ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]


def cluster(running=NODES, partitions=None, alarms=None):
    return {"members": NODES, "running": list(running), "partitions": partitions or {},
            "alarms": alarms or []}


def test_whole_rabbitmq_cluster_restarts_in_member_order():
    plan = rolling.rabbitmq_restart_plan(saltutil({m: cluster() for m in DB}), DB)
    assert plan["ok"] and plan["order"] == DB


@pytest.mark.parametrize("views, words", [
    ({"ctl1": cluster(), "ctl2": cluster(), "ctl3": None}, "ctl3 did not report"),
    ({"ctl1": cluster(running=NODES[:2]), "ctl2": cluster(), "ctl3": cluster()},
     "ctl1 does not see rabbit@ctl3 running"),
    ({"ctl1": cluster(), "ctl2": cluster(partitions={"rabbit@ctl2": ["rabbit@ctl3"]}), "ctl3": cluster()},
     "ctl2 reports partitions"),
    ({"ctl1": cluster(alarms=["rabbit@ctl1:disk"]), "ctl2": cluster(), "ctl3": cluster()},
     "ctl1 reports alarms"),
])
def test_broken_rabbitmq_cluster_is_refused(views, words):
    plan = rolling.rabbitmq_restart_plan(saltutil(views), DB)
    assert not plan["ok"] and words in plan["reason"], plan["reason"]


# ------------------------------------------------------- restart functions (mocked)
class FakeSalt(dict):
    """__salt__ stand-in: status answers come from a list, one per call; calls are recorded."""

    def __init__(self, statuses, restart_ok=True, cmd_rc=0):
        super().__init__()
        self.statuses, self.calls = list(statuses), []
        self["hastack_galera.status"] = self._status
        self["hastack_rabbitmq.status"] = self._status
        self["service.restart"] = lambda name: self.calls.append(("restart", name)) or restart_ok
        self["cmd.run_all"] = lambda cmd, **kw: self.calls.append(tuple(cmd)) or {
            "retcode": cmd_rc, "stdout": "", "stderr": "quorum critical" if cmd_rc else ""}

    def _status(self, *args, **kwargs):
        value = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(value, Exception):
            raise value
        return value


@pytest.fixture
def fake(monkeypatch):
    def install(statuses, **kw):
        salt = FakeSalt(statuses, **kw)
        monkeypatch.setattr(rolling, "__salt__", salt, raising=False)
        monkeypatch.setattr(rolling.time, "sleep", lambda s: None)
        return salt
    return install


def restarted(salt):
    return [c for c in salt.calls if c[0] == "restart"]


def test_galera_restart_waits_until_synced_with_the_whole_cluster(fake, tmp_path):
    log = tmp_path / "error.log"
    log.write_text("old: SST received\n")
    salt = fake([wsrep(), CommandExecutionError("server down"), wsrep(state="1", comment="Joining", size=3),
                 wsrep(size=2), wsrep()])
    real_restart = salt["service.restart"]

    def restart_and_log(name):
        log.write_text(log.read_text() + "IST received: u:7\n")
        return real_restart(name)
    salt["service.restart"] = restart_and_log
    result = rolling.galera_restart(size=3, log_error=str(log))
    assert restarted(salt) == [("restart", "mariadb")]
    assert result["transfer"] == "IST"  # only lines written since the restart count
    assert salt.statuses == [wsrep()]  # every intermediate status was polled


@pytest.mark.parametrize("before", [wsrep(state="2", comment="Donor/Desynced"), wsrep(size=2),
                                    CommandExecutionError("down")])
def test_galera_restart_refuses_on_an_unhealthy_node_and_restarts_nothing(fake, before):
    salt = fake([before])
    with pytest.raises(CommandExecutionError, match="refusing to restart"):
        rolling.galera_restart(size=3)
    assert restarted(salt) == []


def test_galera_restart_fails_when_not_synced_in_time(fake):
    salt = fake([wsrep(), wsrep(state="1", comment="Joining")])
    with pytest.raises(CommandExecutionError, match="not Synced in a cluster of 3 after 0s"):
        rolling.galera_restart(size=3, timeout=0)
    assert restarted(salt) == [("restart", "mariadb")]


def test_rabbitmq_restart_checks_quorum_then_waits_for_the_whole_cluster(fake):
    salt = fake([cluster(), None, cluster(running=NODES[:2]), cluster()])
    result = rolling.rabbitmq_restart(NODES)
    assert result["running"] == NODES
    order = [c[0] for c in salt.calls]
    assert order == ["rabbitmq-upgrade", "restart", "rabbitmqctl"]


def test_rabbitmq_restart_refuses_a_broken_cluster_or_a_quorum_critical_node(fake):
    salt = fake([cluster(running=NODES[:2])])
    with pytest.raises(CommandExecutionError, match="not whole"):
        rolling.rabbitmq_restart(NODES)
    assert restarted(salt) == []
    salt = fake([cluster()], cmd_rc=1)
    with pytest.raises(CommandExecutionError, match="lose its majority"):
        rolling.rabbitmq_restart(",".join(NODES))
    assert restarted(salt) == []
