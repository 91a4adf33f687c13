"""
Unit tests of _modules/hastack_galera.py, the node runtime: status, position
(with --wsrep-recover), wait_synced, bootstrap and loading. The loader dunders
come from pytest-salt-factories' ``configure_loader_modules``: ``__salt__`` is
a fake whose ``cmd.run_all`` answers by program name, plus the real
``hastack_galera_plan`` functions the runtime calls through the loader.
"""

import pytest
from conftest import load_salt_module, loader_functions

galera = load_salt_module("_modules", "hastack_galera")
plan = load_salt_module("_modules", "hastack_galera_plan")

U1 = "6f5a3c7e-1c2b-11ef-8a6f-2e1f3c4d5e6f"
NIL = "00000000-0000-0000-0000-000000000000"

GRASTATE_CLEAN = f"""# GALERA saved state
version: 2.1
uuid:    {U1}
seqno:   1234
safe_to_bootstrap: 1
"""

GRASTATE_CRASHED = f"""# GALERA saved state
version: 2.1
uuid:    {U1}
seqno:   -1
safe_to_bootstrap: 0
"""

GVWSTATE = """my_uuid: d3124bc8-1605-11e4-aa3d-ab44303c044a
#vwbeg
view_id: 3 0dae1307-1606-11e4-aa94-5255b1455aa0 12
bootstrap: 0
member: 0dae1307-1606-11e4-aa94-5255b1455aa0 0
member: d3124bc8-1605-11e4-aa3d-ab44303c044a 1
#vwend
"""

RECOVER_LOG = f"""\
2024-05-14 10:12:01 0 [Note] InnoDB: Starting crash recovery from checkpoint LSN=46846
2024-05-14 10:12:01 0 [Note] WSREP: Recovered position: {U1}:1234
"""


STATUS_SYNCED = (
    "wsrep_cluster_size\t3\n"
    "wsrep_cluster_state_uuid\t" + U1 + "\n"
    "wsrep_cluster_status\tPrimary\n"
    "wsrep_incoming_addresses\t10.0.0.11:3306,10.0.0.12:3306,10.0.0.13:3306\n"
    "wsrep_local_state\t4\n"
    "wsrep_local_state_comment\tSynced\n"
    "wsrep_ready\tON\n"
)


class FakeSalt(dict):
    """
    __salt__ stand-in: cmd.run_all answers by the program's full path or name;
    a list of replies answers one per call (the last one repeats).
    """

    def __init__(self):
        super().__init__(loader_functions(plan))
        self.calls = []
        self.replies = {}
        self.files = {}
        self["cmd.run_all"] = self.run_all
        self["file.file_exists"] = lambda path: path in self.files
        self["file.read"] = lambda path: self.files[path]
        self["file.replace"] = self.replace
        self["file.mkdir"] = lambda path, **kw: self.calls.append(["file.mkdir", path, kw])

    def run_all(self, cmd, **kwargs):
        self.calls.append(cmd)
        reply = self.replies.get(cmd[0]) or self.replies.get(
            cmd[0].rsplit("/", 1)[-1], {"retcode": 127, "stderr": "not found"})
        if isinstance(reply, list):
            reply = reply.pop(0) if len(reply) > 1 else reply[0]
        return dict({"stdout": "", "stderr": ""}, **reply)

    def replace(self, path, **kwargs):
        self.calls.append(["file.replace", path, kwargs])
        return "diff"


# What `pgrep -a` prints for a running server.
SERVER_RUNNING = {"retcode": 0, "stdout": "4242 /usr/sbin/mariadbd"}


@pytest.fixture
def fake_salt():
    return FakeSalt()


@pytest.fixture
def configure_loader_modules(fake_salt, monkeypatch):
    # Binaries 'exist' under /usr/bin; no systemd; polling does not sleep.
    monkeypatch.setattr(galera.salt.utils.path, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(galera.salt.utils.systemd, "booted", lambda context=None: False)
    monkeypatch.setattr(galera.time, "sleep", lambda seconds: None)
    return {galera: {"__salt__": fake_salt, "__context__": {}, "__opts__": {"test": False}}}


@pytest.fixture
def salt_env(fake_salt):
    """salt_env(replies, files): what the fake client and files answer in this test."""

    def install(replies, files=None):
        fake_salt.replies.update(replies)
        fake_salt.files.update(files or {})
        return fake_salt

    return install


def test_status_parses_tab_separated_rows(salt_env):
    fake = salt_env({"mariadb": {"retcode": 0, "stdout": STATUS_SYNCED}})
    status = galera.status()
    assert status["wsrep_cluster_size"] == "3"
    assert status["wsrep_incoming_addresses"] == "10.0.0.11:3306,10.0.0.12:3306,10.0.0.13:3306"
    assert fake.calls[0] == ["/usr/bin/mariadb", "--protocol=socket", "--socket=/run/mysqld/mysqld.sock",
                             "--user=root", "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'wsrep_%'"]


def test_status_raises_when_server_is_down(salt_env):
    salt_env({"mariadb": {"retcode": 1, "stderr": "ERROR 2002 (HY000): Can't connect"}})
    with pytest.raises(galera.CommandExecutionError, match="2002"):
        galera.status()


@pytest.mark.parametrize("replace, synced", [
    ({}, True),
    ({"wsrep_local_state": "2"}, False),               # Donor/Desynced
    ({"wsrep_ready": "OFF"}, False),
    ({"wsrep_cluster_status": "non-Primary"}, False),
], ids=["synced", "donor", "not-ready", "non-primary"])
def test_is_synced(salt_env, replace, synced):
    rows = dict(line.split("\t") for line in STATUS_SYNCED.splitlines())
    rows.update(replace)
    text = "".join(f"{k}\t{v}\n" for k, v in rows.items())
    salt_env({"mariadb": {"retcode": 0, "stdout": text}})
    assert galera.is_synced() is synced


def test_is_synced_false_when_server_is_down(salt_env):
    salt_env({"mariadb": {"retcode": 1, "stderr": "Can't connect"}})
    assert galera.is_synced() is False


def test_position_clean_shutdown_does_not_run_recovery(salt_env):
    fake = salt_env({"pgrep": {"retcode": 1}},
                    files={"/var/lib/mysql/grastate.dat": GRASTATE_CLEAN})
    result = galera.position()
    assert (result["uuid"], result["seqno"], result["safe_to_bootstrap"]) == (U1, 1234, 1)
    assert result["running"] is False and result["gvwstate"] is None
    assert not any("--wsrep-recover" in call for call in fake.calls)


def test_position_after_crash_runs_wsrep_recover(salt_env):
    fake = salt_env(
        {"pgrep": {"retcode": 1}, "mariadbd": {"retcode": 0, "stderr": RECOVER_LOG}},
        files={"/data/grastate.dat": GRASTATE_CRASHED, "/data/gvwstate.dat": GVWSTATE},
    )
    result = galera.position(datadir="/data")
    assert (result["seqno"], result["recovered_uuid"], result["recovered_seqno"]) == (-1, U1, 1234)
    assert result["gvwstate"]["view_seq"] == 12
    recover = next(call for call in fake.calls if "--wsrep-recover" in call)
    assert "--user=mysql" in recover and "--datadir=/data" in recover
    assert result["errors"] == []
    # The decision uses the recovered seqno.
    choice = plan.choose_bootstrap({"a": result, "b": {"uuid": U1, "seqno": 1000}}, ["a", "b"])
    assert choice["bootstrap"] == "a"


def test_position_recovery_without_a_position_reports_an_error(salt_env):
    salt_env({"pgrep": {"retcode": 1}, "mariadbd": {"retcode": 1, "stderr": "[ERROR] Aborting"}},
             files={"/var/lib/mysql/grastate.dat": GRASTATE_CRASHED})
    result = galera.position()
    assert result["recovered_seqno"] is None
    assert "no position" in result["errors"][0]
    assert not plan.choose_bootstrap({"a": result}, ["a"])["ok"]


def test_position_of_running_node_reads_live_status(salt_env):
    fake = salt_env({"pgrep": {"retcode": 0, "stdout": "4242"},
                     "mariadb": {"retcode": 0, "stdout": STATUS_SYNCED}},
                    files={"/var/lib/mysql/grastate.dat": GRASTATE_CRASHED})
    result = galera.position()
    assert (result["running"], result["cluster_status"]) == (True, "Primary")
    assert not any("--wsrep-recover" in call for call in fake.calls)


def test_position_is_not_fooled_by_a_recovery_left_running(salt_env):
    # An earlier call's `mariadbd --wsrep-recover` outlived its job: not a server,
    # and no second recovery is started beside it.
    fake = salt_env({"pgrep": {"retcode": 0, "stdout": "77 /usr/sbin/mariadbd --user=mysql --wsrep-recover"}},
                    files={"/var/lib/mysql/grastate.dat": GRASTATE_CRASHED})
    result = galera.position(timeout=1)
    assert result["running"] is False
    assert "still runs" in result["errors"][0]
    assert not any(call[0] == "mariadbd" for call in fake.calls)
    assert not plan.choose_bootstrap({"a": result}, ["a"])["ok"]


def test_bootstrap_sets_safe_flag_then_runs_init_script(salt_env):
    fake = salt_env({"pgrep": {"retcode": 1}, "/etc/init.d/mariadb": {"retcode": 0, "stdout": "ok"}},
                    files={"/var/lib/mysql/grastate.dat": GRASTATE_CRASHED})
    result = galera.bootstrap()
    assert result["result"] is True
    replace = next(call for call in fake.calls if call[0] == "file.replace")
    assert replace[1] == "/var/lib/mysql/grastate.dat"
    assert replace[2]["repl"] == "safe_to_bootstrap: 1"
    assert fake.calls[-1] == ["/etc/init.d/mariadb", "bootstrap"]
    # The flag is written before the server starts.
    assert fake.calls.index(replace) < len(fake.calls) - 1


def test_bootstrap_uses_galera_new_cluster_under_systemd(salt_env, monkeypatch):
    fake = salt_env({"pgrep": {"retcode": 1}, "galera_new_cluster": {"retcode": 0}},
                    files={"/var/lib/mysql/grastate.dat": GRASTATE_CRASHED})
    monkeypatch.setattr(galera.salt.utils.systemd, "booted", lambda context=None: True)
    assert galera.bootstrap()["result"] is True
    assert fake.calls[-1] == ["/usr/bin/galera_new_cluster"]


def test_bootstrap_does_nothing_when_running(salt_env):
    fake = salt_env({"pgrep": SERVER_RUNNING,
                     "mariadb": {"retcode": 0, "stdout": STATUS_SYNCED}},
                    files={"/var/lib/mysql/grastate.dat": GRASTATE_CRASHED})
    result = galera.bootstrap()
    assert result["changes"] == {} and "already running" in result["comment"]
    assert not any(call[0] in ("file.replace", "/etc/init.d/mariadb") for call in fake.calls)


def test_bootstrap_reports_init_script_failure(salt_env):
    salt_env({"pgrep": {"retcode": 1}, "/etc/init.d/mariadb": {"retcode": 1, "stderr": "failed"}},
             files={"/var/lib/mysql/grastate.dat": GRASTATE_CRASHED})
    result = galera.bootstrap()
    assert result["result"] is False and "rc 1" in result["comment"]


def test_virtual_needs_a_client(monkeypatch):
    monkeypatch.setattr(galera.salt.utils.path, "which", lambda name: None)
    assert galera.__virtual__() == (
        False, "hastack_galera: mariadb/mysql client binaries not found")
    monkeypatch.setattr(galera.salt.utils.path, "which",
                        lambda name: "/usr/bin/mysql" if name == "mysql" else None)
    assert galera.__virtual__() == "hastack_galera"



def test_virtual_has_no_master_exception(monkeypatch):
    """A master without MariaDB does not load the runtime (it has hastack_galera_plan)."""
    monkeypatch.setattr(galera.salt.utils.path, "which", lambda name: None)
    monkeypatch.setitem(galera.__opts__, "__role", "master")
    assert galera.__virtual__()[0] is False


# ------------------------------------------------------------ the socket
def test_every_server_query_uses_the_given_socket(salt_env):
    fake = salt_env({"mariadb": {"retcode": 0, "stdout": STATUS_SYNCED}, "pgrep": SERVER_RUNNING})
    galera.status(socket="/srv/my.sock")
    galera.is_synced(socket="/srv/my.sock")
    galera.wait_synced(timeout=5, socket="/srv/my.sock")
    galera.position(socket="/srv/my.sock")
    galera.bootstrap(socket="/srv/my.sock")
    clients = [c for c in fake.calls if c[0] == "/usr/bin/mariadb"]
    assert len(clients) == 5
    assert all("--socket=/srv/my.sock" in c and "--protocol=socket" in c for c in clients)


# ------------------------------------------------------------ wait_synced
SYNCED = "wsrep_local_state\t4\nwsrep_ready\tON\nwsrep_cluster_status\tPrimary\nwsrep_cluster_size\t3\n"
JOINER = ("wsrep_local_state\t1\nwsrep_local_state_comment\tJoining\nwsrep_ready\tOFF\n"
          "wsrep_cluster_status\tPrimary\n")


def test_wait_synced_polls_until_synced(salt_env):
    fake = salt_env({"pgrep": SERVER_RUNNING,
                     "mariadb": [{"retcode": 1, "stderr": "no socket"}, {"retcode": 0, "stdout": JOINER},
                                 {"retcode": 0, "stdout": SYNCED}]})
    result = galera.wait_synced(timeout=30)
    assert result["result"] is True and "cluster size 3" in result["comment"]
    assert sum(1 for c in fake.calls if c[0].endswith("mariadb")) == 3


def test_wait_synced_gives_up_at_the_deadline(salt_env, monkeypatch):
    salt_env({"pgrep": SERVER_RUNNING, "mariadb": {"retcode": 0, "stdout": JOINER}})
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(galera.time, "monotonic", lambda: next(clock))
    result = galera.wait_synced(timeout=30)
    assert result["result"] is False
    assert "not Synced after 30s" in result["comment"] and "Joining" in result["comment"]


def test_wait_synced_stops_when_the_server_is_gone(salt_env, monkeypatch):
    salt_env({"pgrep": {"retcode": 1}, "mariadb": {"retcode": 1, "stderr": "Can't connect"}})
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(galera.time, "monotonic", lambda: next(clock))
    result = galera.wait_synced(timeout=300)
    assert result["result"] is False and "mariadbd is not running" in result["comment"]


def test_bootstrap_of_a_new_cluster_needs_no_grastate(salt_env):
    fake = salt_env({"pgrep": {"retcode": 1}, "/etc/init.d/mariadb": {"retcode": 0}})
    assert galera.bootstrap()["result"] is False  # recovery needs a recorded state
    result = galera.bootstrap(new_cluster=True)
    assert result["result"] is True
    assert fake.calls[-1] == ["/etc/init.d/mariadb", "bootstrap"]


RECOVERED = f"[Note] WSREP: Recovered position: {U1}:4711\n"


def test_position_after_a_reboot_creates_the_socket_dir_before_recovering(salt_env, tmp_path):
    """A rebooted host has an empty /run: --wsrep-recover aborts without the socket's dir."""
    fake = salt_env({"pgrep": {"retcode": 1}, "mariadbd": {"retcode": 0, "stderr": RECOVERED}},
                    files={"/var/lib/mysql/grastate.dat": GRASTATE_CRASHED})
    socket_path = tmp_path / "run" / "mysqld" / "mysqld.sock"
    pos = galera.position(datadir="/var/lib/mysql", socket=str(socket_path))
    assert pos["recovered_seqno"] == 4711 and pos["errors"] == []
    steps = [c[0] if c[0] == "file.mkdir" else "recover" for c in fake.calls
             if c[0] == "file.mkdir" or "--wsrep-recover" in c]
    assert steps == ["file.mkdir", "recover"]
    mkdir = next(c for c in fake.calls if c[0] == "file.mkdir")
    assert mkdir[1:] == [str(socket_path.parent), {"user": "mysql", "group": "root", "mode": "0755"}]
    # An existing directory is left alone.
    socket_path.parent.mkdir(parents=True)
    fake.calls.clear()
    galera.position(socket=str(socket_path))
    assert not [c for c in fake.calls if c[0] == "file.mkdir"]
