"""The Galera tier end to end: deploy, replication, health endpoint, idempotency,
IST rejoin of a crashed node, full-outage recovery and its refusals.

Tests run in file order and share the session lab; each leaves the cluster
with three Synced members. Measured times are printed at the end of the module
(run pytest with -s to see them) and kept in GALERA_TIMES.
"""

import json
import signal
import time
import urllib.error
import urllib.request

import pytest
import yaml

from hastack_lab.lab import LabError, wait_until

DB = "hastack_labtest"
GALERA_TIMES = {}


# ---------------------------------------------------------------- helpers
def sql(lab, host, query, check=True):
    """Run SQL as root through the socket on host; returns rows (lists of strings)."""
    proc = lab.exec(host, ["mariadb", "-N", "-B", "-e", query], check=check)
    return [line.split("\t") for line in proc.stdout.splitlines() if line]


def wsrep(lab, host):
    return dict(sql(lab, host, "SHOW GLOBAL STATUS LIKE 'wsrep_%'"))


def health(lab, host):
    """HTTP status of the host's health endpoint."""
    try:
        with urllib.request.urlopen(f"http://{lab.host_ip(host)}:9200/", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def mariadbd_pid(lab, host):
    return lab.exec(host, ["cat", "/run/mysqld/mysqld.pid"], check=False).stdout.strip()


def db_hosts(lab):
    return [h for h in lab.hosts if "db" in lab.roles_of(h)]


def crash(lab, host):
    """kill -9 MariaDB on host: mysqld_safe too, or it would restart mariadbd by itself."""
    lab.crash(host, "mysqld_safe", "mariadbd")


def minion_signal(lab, host, sig):
    """Stop (SIGSTOP) or resume (SIGCONT) every salt-minion process of host, by PID."""
    pids = lab.exec(host, ["pgrep", "-f", "bin/salt-minion"], check=False).stdout.split()
    assert pids, f"no salt-minion on {host}"
    lab.exec(host, ["kill", f"-{sig.name[3:]}", *pids])


def other_jobs(lab, host):
    """Functions of the jobs running on host (None when it does not answer), the asking one left out."""
    jobs = lab.salt(host, "saltutil.running", "-t", "20").get(host)
    if not isinstance(jobs, list):
        return None
    return [job.get("fun") for job in jobs if job.get("fun") != "saltutil.running"]


def all_synced(lab, hosts=None, size=3):
    hosts = hosts or db_hosts(lab)
    for host in hosts:
        try:
            status = wsrep(lab, host)
        except Exception:  # noqa: BLE001 - server down or not answering yet
            return False
        if (status.get("wsrep_local_state") != "4" or status.get("wsrep_cluster_status") != "Primary"
                or int(status.get("wsrep_cluster_size", 0)) != size):
            return False
    return True


def ok_rows(rows):
    bad = [r for r in rows if r["result"] is not True]
    assert rows and not bad, bad
    return rows


def changed(rows):
    return [(r["minion"], r["id"], r["changes"]) for r in rows if r["changes"]]


def secrets(lab):
    return yaml.safe_load((lab.pillar_dir / "secrets.sls").read_text())["hastack"]["secrets"]


@pytest.fixture(scope="module", autouse=True)
def galera_module(lab):
    hosts = db_hosts(lab)
    assert hosts == lab.hosts
    sql(lab, hosts[0], f"CREATE DATABASE IF NOT EXISTS {DB}; "
                       f"CREATE TABLE IF NOT EXISTS {DB}.t (id INT AUTO_INCREMENT PRIMARY KEY, "
                       "v VARCHAR(64) NOT NULL, KEY (v))")
    yield
    # Leave three Synced members behind for the modules that follow, also when
    # a test failed half-way: one state run per member, then the check.
    try:
        wait_until(lambda: all_synced(lab), 120, 1, "three Synced members")
    except LabError:
        lab.apply("*", "hastack.galera")
    wait_until(lambda: all_synced(lab), 180, 1, "three Synced members after the galera tests")
    sql(lab, hosts[0], f"DROP DATABASE IF EXISTS {DB}")
    print("\nGalera times (s): " + json.dumps(GALERA_TIMES, sort_keys=True))


# ------------------------------------------------------------------ tests
def test_deploy_forms_a_three_node_synced_cluster(lab):
    uuids = set()
    for host in db_hosts(lab):
        status = wsrep(lab, host)
        assert status["wsrep_local_state_comment"] == "Synced", (host, status)
        assert status["wsrep_ready"] == "ON"
        assert status["wsrep_cluster_status"] == "Primary"
        assert status["wsrep_cluster_size"] == "3"
        uuids.add(status["wsrep_cluster_state_uuid"])
        assert status["wsrep_incoming_addresses"].count(":3306") == 3
    assert len(uuids) == 1
    # The lab status shows each node's wsrep state and cluster size.
    rows = {r["host"]: r for r in lab.status()["hosts"]}
    for host in db_hosts(lab):
        assert rows[host]["services"]["mariadb"] is True
        assert rows[host]["facts"]["galera"]["summary"] == "Synced, cluster size 3, Primary"


def test_settings_come_from_the_formula(lab):
    for host in db_hosts(lab):
        variables = dict(sql(lab, host, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ("
                                        "'bind_address', 'wsrep_sst_method', 'wsrep_cluster_name', "
                                        "'wsrep_provider_options', 'wsrep_cluster_address', "
                                        "'innodb_buffer_pool_size', 'log_error')"))
        assert variables["bind_address"] == lab.host_ip(host)
        assert variables["wsrep_sst_method"] == "mariabackup"
        assert variables["wsrep_cluster_name"] == "hastack"
        assert "pc.recovery = true" in variables["wsrep_provider_options"]
        assert "gcache.size = 64M" in variables["wsrep_provider_options"]  # lab pillar
        assert variables["wsrep_cluster_address"] == "gcomm://" + ",".join(
            lab.host_ip(h) for h in db_hosts(lab))
        assert int(variables["innodb_buffer_pool_size"]) == 64 * 1024 * 1024
        assert variables["log_error"] == "/var/log/mysql/error.log"
        mode = lab.exec(host, ["stat", "-c", "%a %U %G", "/etc/mysql/mariadb.conf.d/60-galera.cnf"]).stdout
        assert mode.split() == ["640", "root", "mysql"]
        # Bound to the stack address only: VIP:3306 stays free for HAProxy.
        refused = lab.exec(host, ["python3", "-c",
                                  "import socket; socket.create_connection(('127.0.0.1', 3306), 2)"],
                           check=False)
        assert refused.returncode != 0 and "ConnectionRefused" in refused.stderr


def test_row_written_on_ctl1_is_read_on_ctl3(lab):
    marker = f"replicated-{time.time_ns()}"
    sql(lab, "ctl1", f"INSERT INTO {DB}.t (v) VALUES ('{marker}')")
    # Galera is virtually synchronous: with wsrep_sync_wait the read waits for the apply.
    rows = sql(lab, "ctl3", f"SET SESSION wsrep_sync_wait = 1; SELECT v FROM {DB}.t WHERE v = '{marker}'")
    assert rows == [[marker]]


def test_accounts_and_databases(lab):
    host = "ctl1"
    assert {r[0] for r in sql(lab, host, "SHOW DATABASES")} >= {
        "keystone", "glance", "nova", "nova_api", "nova_cell0", "placement"}
    assert ["test"] not in sql(lab, host, "SHOW DATABASES")
    users = {(u, h) for u, h in sql(lab, host, "SELECT User, Host FROM mysql.user")}
    assert not [u for u in users if u[0] == ""], "anonymous accounts left"
    assert [u for u in users if u[0] == "root"] == [("root", "localhost")]
    grant_host = "10.253.0.0/255.255.255.0" if lab.subnet == "10.253.0.0/24" else None
    for user in ("keystone", "glance", "nova", "placement"):
        hosts = [h for u, h in users if u == user]
        assert len(hosts) == 1 and "/" in hosts[0] and hosts[0] != "%", (user, hosts)
        if grant_host:
            assert hosts == [grant_host]
    nova_host = next(h for u, h in users if u == "nova")
    nova_grants = " ".join(r[0] for r in sql(lab, host, f"SHOW GRANTS FOR 'nova'@'{nova_host}'"))
    for database in ("nova", "nova_api", "nova_cell0"):
        assert f"ON `{database}`.* TO `nova`" in nova_grants
    # A service logs in over TCP from another stack host with its pillar password.
    password = secrets(lab)["db_keystone"]
    out = lab.exec("ctl2", ["mariadb", "-h", lab.host_ip("ctl1"), "-u", "keystone", f"-p{password}",
                            "keystone", "-N", "-B", "-e", "SELECT CURRENT_USER()"]).stdout.strip()
    assert out.startswith("keystone@")
    # Root has no password login over TCP.
    denied = lab.exec("ctl2", ["mariadb", "-h", lab.host_ip("ctl1"), "-u", "root", "-e", "SELECT 1"],
                      check=False)
    assert denied.returncode != 0


def test_health_endpoint_follows_wsrep_state(lab):
    assert {h: health(lab, h) for h in db_hosts(lab)} == {h: 200 for h in db_hosts(lab)}
    # Desynced (e.g. a backup donor): 503, and back to 200.
    sql(lab, "ctl2", "SET GLOBAL wsrep_desync = ON")
    try:
        wait_until(lambda: health(lab, "ctl2") == 503, 15, 0.2, "ctl2 health 503 while desynced")
        assert health(lab, "ctl1") == 200
    finally:
        sql(lab, "ctl2", "SET GLOBAL wsrep_desync = OFF")
    wait_until(lambda: health(lab, "ctl2") == 200, 30, 0.2, "ctl2 health 200 after desync")
    # Stopped: 503 (the endpoint itself keeps running).
    lab.exec("ctl3", ["/etc/init.d/mariadb", "stop"])
    assert health(lab, "ctl3") == 503
    # A state run brings a cleanly stopped node back (IST) without bootstrapping.
    started = time.monotonic()
    rows = ok_rows(lab.apply("ctl3", "hastack.galera.service"))
    GALERA_TIMES["rejoin_after_clean_stop"] = round(time.monotonic() - started, 1)
    assert [r["id"] for r in rows if r["changes"]] == ["hastack-galera-service-running"]
    assert "joined through" in json.dumps(rows)
    assert health(lab, "ctl3") == 200
    assert all_synced(lab)


def test_second_apply_changes_nothing_and_restarts_nothing(lab):
    pids = {h: mariadbd_pid(lab, h) for h in db_hosts(lab)}
    assert all(pids.values())
    rows = ok_rows(lab.apply(",".join(db_hosts(lab)), "hastack.galera", tgt_type="list"))
    assert {r["minion"] for r in rows} == set(db_hosts(lab))
    assert changed(rows) == []
    assert {h: mariadbd_pid(lab, h) for h in db_hosts(lab)} == pids


def test_killed_node_rejoins_by_ist_and_sees_rows_written_meanwhile(lab):
    before = int(wsrep(lab, "ctl3")["wsrep_last_committed"])
    others = {h: mariadbd_pid(lab, h) for h in ("ctl1", "ctl2")}
    ist_logged = lab.exec("ctl3", ["grep", "-c", "IST received", "/var/log/mysql/error.log"],
                          check=False).stdout.strip() or "0"
    # Counted before: a kept lab still holds the rows of an earlier run.
    rows_before = int(sql(lab, "ctl1", f"SELECT COUNT(*) FROM {DB}.t WHERE v LIKE 'while-down-%'")[0][0])
    crash(lab, "ctl3")
    wait_until(lambda: wsrep(lab, "ctl1")["wsrep_cluster_size"] == "2", 30, 0.2, "cluster size 2")
    sql(lab, "ctl1", "; ".join(f"INSERT INTO {DB}.t (v) VALUES ('while-down-{i}')" for i in range(50)))
    started = time.monotonic()
    rows = ok_rows(lab.apply("ctl3", "hastack.galera"))
    GALERA_TIMES["ist_rejoin_after_kill9"] = round(time.monotonic() - started, 1)
    running = next(r for r in rows if r["id"] == "hastack-galera-service-running")
    assert running["changes"]["started"].startswith("joined through"), running
    GALERA_TIMES["ist_rejoin_to_synced"] = running["changes"]["seconds_to_synced"]
    after = int(wsrep(lab, "ctl3")["wsrep_last_committed"])
    assert after >= before + 50
    assert sql(lab, "ctl3", f"SELECT COUNT(*) FROM {DB}.t WHERE v LIKE 'while-down-%'") == [[str(rows_before + 50)]]
    # Incremental, not a full state transfer.
    ist_now = lab.exec("ctl3", ["grep", "-c", "IST received", "/var/log/mysql/error.log"],
                       check=False).stdout.strip()
    assert int(ist_now) > int(ist_logged)
    assert all_synced(lab)
    # The other members were left alone.
    assert {h: mariadbd_pid(lab, h) for h in ("ctl1", "ctl2")} == others


def test_recover_refuses_while_the_cluster_runs(lab):
    pids = {h: mariadbd_pid(lab, h) for h in db_hosts(lab)}
    result = lab.orchestrate("hastack.galera.recover")
    assert not result["ok"]
    assert "Recovery is not needed" in "\n".join(result["errors"])
    assert {h: mariadbd_pid(lab, h) for h in db_hosts(lab)} == pids


def test_recover_refuses_with_a_minion_down_and_works_with_allow_partial(lab):
    for host in db_hosts(lab):
        crash(lab, host)
    minion_signal(lab, "ctl3", signal.SIGSTOP)
    try:
        started = time.monotonic()
        refused = lab.orchestrate("hastack.galera.recover")
        GALERA_TIMES["refusal_with_silent_minion"] = round(time.monotonic() - started, 1)
        assert not refused["ok"]
        errors = "\n".join(refused["errors"])
        assert "refused, nothing was changed" in errors and "ctl3 did not answer" in errors
        for host in ("ctl1", "ctl2"):
            assert lab.exec(host, ["pgrep", "-x", "mariadbd"], check=False).returncode != 0

        result = lab.orchestrate("hastack.galera.recover",
                                 pillar={"hastack": {"galera": {"recover": {"allow_partial": True}}}})
        assert result["ok"], result["errors"]
        ids = [s["id"] for s in result["steps"]]
        assert not [i for i in ids if "ctl3" in i]
        assert all_synced(lab, ["ctl1", "ctl2"], size=2)
    finally:
        minion_signal(lab, "ctl3", signal.SIGCONT)
    # The resumed minion still runs the position queries published while it
    # was stopped (each a mariadbd --wsrep-recover); a start racing them would
    # find the datadir locked. An operator waits for them too.
    wait_until(lambda: other_jobs(lab, "ctl3") == [], 180, 2, "the jobs ctl3 received while stopped to end")
    # The member left out rejoins with a plain state run.
    ok_rows(lab.apply("ctl3", "hastack.galera"))
    wait_until(lambda: all_synced(lab), 180, 1, "ctl3 Synced again, size 3")
    assert {h: health(lab, h) for h in db_hosts(lab)} == {h: 200 for h in db_hosts(lab)}
