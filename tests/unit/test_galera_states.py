"""
Unit tests of the Galera additions: the new helpers of _modules/hastack_galera.py
(wait_synced, bootstrap of a brand-new cluster, grants parsing, loading on the
master) and the decisions of _states/hastack_galera.py with a mocked __salt__.
"""

import socket

import pytest
from conftest import load_salt_module

galera = load_salt_module("_modules", "hastack_galera")


# ------------------------------------------------------------ module helpers
def test_virtual_loads_on_a_master_without_binaries(monkeypatch):
    monkeypatch.setattr(galera.salt.utils.path, "which", lambda name: None)
    monkeypatch.setattr(galera, "__opts__", {"__role": "master"}, raising=False)
    assert galera.__virtual__() == "hastack_galera"
    monkeypatch.setattr(galera, "__opts__", {"__role": "minion"}, raising=False)
    assert galera.__virtual__()[0] is False


@pytest.mark.parametrize("value, expected", [
    ("plain", "'plain'"),
    ("it's", "'it\\'s'"),
    ("back\\slash", "'back\\\\slash'"),
])
def test_sql_quote(value, expected):
    assert galera.sql_quote(value) == expected


GRANTS = [
    "GRANT USAGE ON *.* TO `nova`@`10.0.0.0/255.255.255.0` IDENTIFIED BY PASSWORD '*ABC'",
    "GRANT ALL PRIVILEGES ON `nova`.* TO `nova`@`10.0.0.0/255.255.255.0`",
    "GRANT SELECT, INSERT ON `nova_api`.* TO `nova`@`10.0.0.0/255.255.255.0`",
    "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO `sst`@`localhost`",
]


def test_parse_grants():
    grants = galera.parse_grants(GRANTS)
    assert grants["nova.*"] == {"ALL PRIVILEGES"}
    assert grants["nova_api.*"] == {"SELECT", "INSERT"}
    assert grants["*.*"] == {"USAGE", "RELOAD", "PROCESS", "LOCK TABLES", "BINLOG MONITOR"}


@pytest.mark.parametrize("target, wanted, missing", [
    ("nova.*", ["ALL PRIVILEGES"], []),
    ("nova.*", ["SELECT"], []),
    ("nova_api.*", ["ALL PRIVILEGES"], ["ALL PRIVILEGES"]),
    ("nova_api.*", ["select", "UPDATE"], ["UPDATE"]),
    ("nova_cell0.*", ["ALL PRIVILEGES"], ["ALL PRIVILEGES"]),
    ("*.*", ["RELOAD", "PROCESS", "LOCK TABLES", "BINLOG MONITOR"], []),
])
def test_grants_missing(target, wanted, missing):
    assert galera.grants_missing(GRANTS, target, wanted) == missing


SYNCED = "wsrep_local_state\t4\nwsrep_ready\tON\nwsrep_cluster_status\tPrimary\nwsrep_cluster_size\t3\n"
JOINER = "wsrep_local_state\t1\nwsrep_local_state_comment\tJoining\nwsrep_ready\tOFF\nwsrep_cluster_status\tPrimary\n"


class Script(dict):
    """__salt__ stand-in whose mariadb client answers from a list, one reply per call."""

    def __init__(self, replies, running=True):
        super().__init__()
        self.replies = list(replies)
        self.calls = []
        self.running = running
        self["cmd.run_all"] = self.run_all
        self["file.file_exists"] = lambda path: False

    def run_all(self, cmd, **kwargs):
        self.calls.append(cmd)
        name = cmd[0].rsplit("/", 1)[-1]
        if name == "pgrep":
            return {"retcode": 0 if self.running else 1, "stdout": "", "stderr": ""}
        if name == "mariadb":
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
            return dict({"stdout": "", "stderr": ""}, **reply)
        return {"retcode": 0, "stdout": "started", "stderr": ""}


@pytest.fixture
def fake_module(monkeypatch):
    monkeypatch.setattr(galera.salt.utils.path, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(galera.salt.utils.systemd, "booted", lambda context=None: False)
    monkeypatch.setattr(galera.time, "sleep", lambda seconds: None)

    def install(replies, running=True):
        fake = Script(replies, running)
        monkeypatch.setattr(galera, "__salt__", fake, raising=False)
        monkeypatch.setattr(galera, "__context__", {}, raising=False)
        return fake

    return install


def test_wait_synced_polls_until_synced(fake_module):
    fake = fake_module([{"retcode": 1, "stderr": "no socket"}, {"retcode": 0, "stdout": JOINER},
                        {"retcode": 0, "stdout": SYNCED}])
    result = galera.wait_synced(timeout=30)
    assert result["result"] is True and "cluster size 3" in result["comment"]
    assert sum(1 for c in fake.calls if c[0].endswith("mariadb")) == 3


def test_wait_synced_gives_up_at_the_deadline(fake_module, monkeypatch):
    fake_module([{"retcode": 0, "stdout": JOINER}])
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(galera.time, "monotonic", lambda: next(clock))
    result = galera.wait_synced(timeout=30)
    assert result["result"] is False
    assert "not Synced after 30s" in result["comment"] and "Joining" in result["comment"]


def test_bootstrap_of_a_new_cluster_needs_no_grastate(fake_module):
    fake = fake_module([{"retcode": 0}], running=False)
    assert galera.bootstrap()["result"] is False  # recovery needs a recorded state
    result = galera.bootstrap(new_cluster=True)
    assert result["result"] is True
    assert fake.calls[-1] == ["/etc/init.d/mariadb", "bootstrap"]


GRASTATE_CRASHED = "version: 2.1\nuuid: 6f5a3c7e-1c2b-11ef-8a6f-2e1f3c4d5e6f\nseqno: -1\nsafe_to_bootstrap: 0\n"
RECOVERED = "[Note] WSREP: Recovered position: 6f5a3c7e-1c2b-11ef-8a6f-2e1f3c4d5e6f:4711\n"


def test_position_after_a_reboot_creates_the_socket_dir_before_recovering(fake_module, tmp_path):
    """A rebooted host has an empty /run: --wsrep-recover aborts without the socket's dir."""
    fake = fake_module([{"retcode": 0}], running=False)
    events = []
    socket_path = tmp_path / "run" / "mysqld" / "mysqld.sock"
    fake["file.file_exists"] = lambda path: path.endswith("grastate.dat")
    fake["file.read"] = lambda path: GRASTATE_CRASHED
    fake["file.mkdir"] = lambda path, **kw: events.append(("mkdir", path, kw))

    def run_all(cmd, **kwargs):
        if "--wsrep-recover" in cmd:
            events.append(("recover", cmd[0]))
            return {"retcode": 0, "stdout": "", "stderr": RECOVERED}
        return Script.run_all(fake, cmd, **kwargs)
    fake["cmd.run_all"] = run_all

    pos = galera.position(datadir="/var/lib/mysql", socket=str(socket_path))
    assert pos["recovered_seqno"] == 4711 and pos["errors"] == []
    assert [e[0] for e in events] == ["mkdir", "recover"]
    assert events[0][1] == str(socket_path.parent)
    assert events[0][2] == {"user": "mysql", "group": "root", "mode": "0755"}
    # An existing directory is left alone.
    socket_path.parent.mkdir(parents=True)
    events.clear()
    galera.position(socket=str(socket_path))
    assert [e[0] for e in events] == ["recover"]


# ------------------------------------------------------------- the state
states = load_salt_module("_states", "hastack_galera")


class StateSalt(dict):
    def __init__(self, running, status=None, synced=True):
        super().__init__()
        self.calls = []
        self["hastack_galera.is_running"] = lambda: running
        self["hastack_galera.status"] = lambda: status or {}
        self["hastack_galera.wait_synced"] = lambda timeout: {
            "result": synced, "comment": "Synced." if synced else "not Synced."}
        self["hastack_galera.bootstrap"] = self._record("bootstrap", {"result": True, "changes": {}})
        self["service.start"] = self._record("start", True)
        self["service.stop"] = self._record("stop", True)
        self["service.enabled"] = lambda name: True
        self["service.enable"] = self._record("enable", True)

    def _record(self, what, value):
        def call(*args, **kwargs):
            self.calls.append(what)
            return value
        return call


@pytest.fixture
def state_env(monkeypatch):
    def install(running, status=None, synced=True, reachable=(), test=False):
        fake = StateSalt(running, status, synced)
        monkeypatch.setattr(states, "__salt__", fake, raising=False)
        monkeypatch.setattr(states, "__opts__", {"test": test}, raising=False)
        monkeypatch.setattr(states, "_reachable", lambda peers, port: [p for p in peers if p in reachable])
        return fake

    return install


PRIMARY = {"wsrep_cluster_status": "Primary", "wsrep_local_state_comment": "Synced",
           "wsrep_cluster_size": "3", "wsrep_cluster_state_uuid": "u", "wsrep_provider_name": "Galera"}


def test_running_member_is_left_alone(state_env):
    fake = state_env(running=True, status=PRIMARY)
    ret = states.running("mariadb", peers=["p1", "p2"], bootstrap=True)
    assert ret["result"] is True and ret["changes"] == {}
    assert fake.calls == []


def test_stopped_member_joins_a_reachable_peer_even_when_allowed_to_bootstrap(state_env):
    fake = state_env(running=False, reachable=("p2",))
    ret = states.running("mariadb", peers=["p1", "p2"], bootstrap=True)
    assert ret["result"] is True
    assert fake.calls == ["start"]
    assert ret["changes"]["started"] == "joined through p2"


def test_stopped_member_without_peers_refuses_unless_told_to_bootstrap(state_env):
    fake = state_env(running=False)
    ret = states.running("mariadb", peers=["p1", "p2"])
    assert ret["result"] is False and ret["changes"] == {}
    assert "hastack.galera.recover" in ret["comment"]
    assert fake.calls == []

    fake = state_env(running=False)
    ret = states.running("mariadb", peers=["p1", "p2"], bootstrap=True)
    assert ret["result"] is True and fake.calls == ["bootstrap"]


def test_test_mode_changes_nothing(state_env):
    fake = state_env(running=False, reachable=("p1",), test=True)
    ret = states.running("mariadb", peers=["p1"])
    assert ret["result"] is None and "join" in ret["comment"] and fake.calls == []


def test_standalone_server_is_restarted_into_the_cluster(state_env):
    standalone = {"wsrep_ready": "OFF", "wsrep_cluster_status": "Disconnected", "wsrep_provider_name": ""}
    fake = state_env(running=True, status=standalone, reachable=("p1",))
    ret = states.running("mariadb", peers=["p1"])
    assert ret["result"] is True and fake.calls == ["stop", "start"]


def test_member_not_synced_is_waited_for_not_restarted(state_env):
    fake = state_env(running=True, status=dict(PRIMARY, wsrep_cluster_status="non-Primary"), synced=False)
    ret = states.running("mariadb", peers=["p1"])
    assert ret["result"] is False and fake.calls == []


def test_reachable_checks_tcp():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert states._reachable(["127.0.0.1"], port) == ["127.0.0.1"]
    assert states._reachable(["127.0.0.1"], port, timeout=0.2) == []
