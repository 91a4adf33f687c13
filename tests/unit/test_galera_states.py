"""
Unit tests of _states/hastack_galera.py with a fake ``__salt__``: when
``running`` starts, joins, bootstraps or leaves a member alone, and that every
state uses the configured socket. The loader dunders come from
pytest-salt-factories' ``configure_loader_modules``.
"""

import socket

import pytest
from conftest import load_salt_module, loader_functions

states = load_salt_module("_states", "hastack_galera")
sql = load_salt_module("_modules", "hastack_galera_sql")


class StateSalt(dict):
    def __init__(self):
        super().__init__()
        self.calls = []
        self.sockets = []
        self.running = False
        self.status = {}
        self.synced = True
        self["hastack_galera.is_running"] = lambda: self.running
        self["hastack_galera.status"] = self._status
        self["hastack_galera.wait_synced"] = self._wait_synced
        self["hastack_galera.bootstrap"] = self._bootstrap
        self["service.start"] = self._record("start", True)
        self["service.stop"] = self._record("stop", True)
        self["service.enabled"] = lambda name: True
        self["service.enable"] = self._record("enable", True)

    def _status(self, socket):
        self.sockets.append(("status", socket))
        return self.status

    def _wait_synced(self, timeout, socket):
        self.sockets.append(("wait_synced", socket))
        return {"result": self.synced, "comment": "Synced." if self.synced else "not Synced."}

    def _bootstrap(self, datadir, new_cluster, socket):
        self.calls.append("bootstrap")
        self.sockets.append(("bootstrap", socket))
        return {"result": True, "changes": {}}

    def _record(self, what, value):
        def call(*args, **kwargs):
            self.calls.append(what)
            return value
        return call


@pytest.fixture
def fake_salt():
    return StateSalt()


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(fake_salt, opts):
    return {states: {"__salt__": fake_salt, "__opts__": opts}}


@pytest.fixture
def state_env(fake_salt, opts, monkeypatch):
    def install(running, status=None, synced=True, reachable=(), test=False):
        fake_salt.running, fake_salt.status, fake_salt.synced = running, status or {}, synced
        opts["test"] = test
        monkeypatch.setattr(states, "_reachable", lambda peers, port: [p for p in peers if p in reachable])
        return fake_salt

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


def test_running_reads_the_status_through_the_configured_socket(state_env):
    fake = state_env(running=True, status=dict(PRIMARY, wsrep_cluster_status="non-Primary"))
    states.running("mariadb", peers=["p1"], socket="/srv/db.sock")
    fake.running = False
    state_env(running=False)
    states.running("mariadb", peers=["p1"], bootstrap=True, socket="/srv/db.sock")
    assert [what for what, _ in fake.sockets] == ["status", "wait_synced", "bootstrap", "wait_synced"]
    assert {path for _, path in fake.sockets} == {"/srv/db.sock"}


# ------------------------------------------------- accounts and databases
class Server:
    """hastack_galera_sql.query stand-in: records (sql, socket), answers by statement."""

    def __init__(self):
        self.sent = []
        self.answers = {}

    def __call__(self, statement, socket):
        self.sent.append((statement, socket))
        for prefix, rows in self.answers.items():
            if statement.startswith(prefix):
                return rows
        return []


@pytest.fixture
def server(fake_salt):
    server = Server()
    fake_salt.update(loader_functions(sql))
    fake_salt["hastack_galera_sql.query"] = server
    return server


def test_account_states_use_the_configured_socket(server):
    server.answers = {"SHOW GRANTS": [["GRANT USAGE ON *.* TO `nova`@`%`"]]}
    sock = "/srv/db/mysqld.sock"
    results = [
        states.database_present("nova", socket=sock),
        states.database_absent("test", socket=sock),
        states.user_present("nova", "%", password="pw-0123456789abcdef", socket=sock),
        states.grants_present("g", "nova", "%", ["ALL PRIVILEGES"], database="nova.*", socket=sock),
    ]
    assert all(r["result"] is True for r in results), results
    assert server.sent and {path for _, path in server.sent} == {sock}
    # database_present and user_present and grants_present changed something.
    assert [bool(r["changes"]) for r in results] == [True, False, True, True]


def test_account_state_fails_with_the_client_error(server, fake_salt):
    def broken(statement, socket):
        raise sql.CommandExecutionError(f"SQL failed: ERROR 2002 (HY000): Can't connect through {socket}")
    fake_salt["hastack_galera_sql.query"] = broken
    ret = states.database_present("nova", socket="/nowhere.sock")
    assert ret["result"] is False and "/nowhere.sock" in ret["comment"]


def test_account_states_honour_test_mode(server, opts):
    opts["test"] = True
    ret = states.database_present("nova")
    assert ret["result"] is None and ret["changes"] == {"nova": "present"}
    assert all(statement.startswith("SELECT") for statement, _ in server.sent)


def test_accounts_absent_drops_anonymous_and_remote_root(server, opts):
    server.answers = {"SELECT User, Host": [["", "localhost"], ["root", "%"]]}
    opts["test"] = True
    ret = states.accounts_absent("anon", keep_root=["localhost"], socket="/s.sock")
    assert ret["result"] is None and ret["changes"] == {"dropped": ["<anonymous>@localhost", "root@%"]}
    assert not [s for s, _ in server.sent if s.startswith("DROP")]
    opts["test"] = False
    ret = states.accounts_absent("anon", keep_root=["localhost"], socket="/s.sock")
    assert ret["result"] is True
    assert server.sent[-1] == ("DROP USER ''@'localhost'; DROP USER 'root'@'%'", "/s.sock")
    assert "Host NOT IN ('localhost')" in server.sent[0][0]


def test_accounts_absent_changes_nothing_when_clean(server):
    ret = states.accounts_absent("anon")
    assert ret["result"] is True and ret["changes"] == {}
    assert len(server.sent) == 1


# ------------------------------------------------------------------ secrets
SECRET = "s3cr3t-pass-0123456789"


def test_native_password_hash_matches_mariadbs_password_function():
    # SELECT PASSWORD('password') on MariaDB 10.11.
    assert states._native_password_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


@pytest.mark.parametrize("exists", [True, False])
def test_user_present_sends_only_the_hash(server, exists):
    """A clear-text password in CREATE/ALTER USER would be replicated and kept in gcache."""
    server.answers = {"SELECT": [["1" if exists else "0", "0"]]}
    ret = states.user_present("keystone", "10.0.0.0/255.255.255.0", password=SECRET)
    assert ret["result"] is True and ret["changes"]
    sent = [statement for statement, _ in server.sent]
    assert len(sent) == 2 and all(SECRET not in statement for statement in sent)
    assert sent[1].startswith("ALTER USER" if exists else "CREATE USER")
    assert "IDENTIFIED BY PASSWORD '*" in sent[1]
    assert SECRET not in repr(ret)


# ---------------------------------------------------------------- runtime provider options
PROVIDER = ("base_host = 10.0.0.1; evs.inactive_check_period = PT0.5S; evs.inactive_timeout = PT15S; "
            "evs.install_timeout = PT7.5S; evs.keepalive_period = PT1S; evs.suspect_timeout = PT5S; "
            "gcache.size = 256M; pc.recovery = true")
TUNED = {"evs.keepalive_period": "PT0.2S", "evs.suspect_timeout": "PT0.8S", "evs.inactive_check_period": "PT0.2S",
         "evs.inactive_timeout": "PT5S", "evs.install_timeout": "PT2S", "gcache.size": "256M",
         "pc.recovery": "true"}


class GaleraServer(Server):
    """Applies SET GLOBAL wsrep_provider_options like Galera: install_timeout <= inactive_timeout."""

    def __init__(self, options):
        super().__init__()
        self.options = dict(options)

    def __call__(self, statement, socket):
        self.sent.append((statement, socket))
        if statement.startswith("SHOW GLOBAL VARIABLES LIKE 'wsrep_provider_options'"):
            return [["wsrep_provider_options", "; ".join(f"{k} = {v}" for k, v in self.options.items())]]
        key, value = statement.split("'")[1].split("=", 1)
        if key == "evs.inactive_timeout" and float(value[2:-1]) < float(self.options["evs.install_timeout"][2:-1]):
            raise sql.CommandExecutionError("SQL failed: ERROR 1210 (HY000): Incorrect arguments to SET")
        self.options[key] = value
        return []


@pytest.fixture
def galera_server(fake_salt):
    server = GaleraServer(dict(item.split(" = ") for item in PROVIDER.split("; ")))
    fake_salt.update(loader_functions(sql))
    fake_salt["hastack_galera_sql.query"] = server
    return server


def test_runtime_options_set_what_galera_can_change_and_leave_the_rest_for_a_restart(galera_server):
    ret = states.runtime_options_present("wsrep_provider_options", TUNED, socket="/s.sock")
    assert ret["result"] is True, ret
    # inactive_timeout was refused until install_timeout had come down first.
    assert set(ret["changes"]) == {"evs.keepalive_period", "evs.suspect_timeout", "evs.inactive_timeout",
                                   "evs.install_timeout"}
    assert ret["changes"]["evs.suspect_timeout"] == {"old": "PT5S", "new": "PT0.8S"}
    assert galera_server.options["evs.inactive_timeout"] == "PT5S"
    assert "Needs a restart (hastack.galera.restart): evs.inactive_check_period." in ret["comment"]
    assert {socket for _, socket in galera_server.sent} == {"/s.sock"}


def test_runtime_options_in_effect_change_nothing(galera_server):
    galera_server.options.update({k: v for k, v in TUNED.items() if k != "evs.inactive_check_period"})
    galera_server.options["evs.keepalive_period"] = "PT0.20S"
    ret = states.runtime_options_present("wsrep_provider_options", TUNED)
    assert ret["result"] is True and ret["changes"] == {}, ret
    assert not [s for s, _ in galera_server.sent if s.startswith("SET")]


def test_runtime_options_honour_test_mode(galera_server, opts):
    opts["test"] = True
    ret = states.runtime_options_present("wsrep_provider_options", TUNED)
    assert ret["result"] is None and "evs.suspect_timeout" in ret["changes"]
    assert not [s for s, _ in galera_server.sent if s.startswith("SET")]


def test_runtime_option_galera_refuses_fails_with_its_reason(galera_server):
    ret = states.runtime_options_present("wsrep_provider_options",
                                         {"evs.inactive_timeout": "PT1S"})
    assert ret["result"] is False
    assert "evs.inactive_timeout=PT1S" in ret["comment"] and "Incorrect arguments" in ret["comment"]
