"""Rolling restarts: a setting changed in pillar reaches every running daemon,
one member at a time, while clients keep working.

`hastack.galera.restart` runs while a writer commits through the VIP, and
`hastack.rabbitmq.restart` while a publisher sends confirmed messages to a
quorum queue. Each test changes a setting through the lab's pillar override, applies
only the config states (they restart nothing), runs the rolling restart and
checks: every daemon runs the new value, the cluster stayed whole enough to
serve (Galera Primary on every running member throughout), no acknowledged
commit or confirmed message was lost. The override is removed afterwards and
the running value set back at runtime, so the lab is left as the formula
deploys it (a later apply changes nothing).
Durations and the longest client-side gaps are printed (run with -s).
"""

import datetime
import json
import subprocess
import threading
import time

import pytest
from amqp_load import ConfirmedPublisher, consume_all
from commit_load import CommitLoad, missing_rows, prepare_probe_database

from hastack_lab.lab import wait_until

DB = "hastack_rolling"
QUEUE = "hastack-test-rolling-restart"
GALERA_MAX_CONNECTIONS = 600  # the lab pillar sets 500
RABBIT_WATERMARK = 0.35       # the formula's default is 0.4
FIGURES = {}


# ---------------------------------------------------------------- helpers
def sql(lab, host, query, check=True):
    proc = lab.exec(host, ["mariadb", "-N", "-B", "-e", query], check=check)
    return [line.split("\t") for line in proc.stdout.splitlines() if line]


def members(lab, role):
    return [h for h in lab.hosts if role in lab.roles_of(h)]


def max_connections(lab, host):
    return int(dict(sql(lab, host, "SHOW GLOBAL VARIABLES LIKE 'max_connections'"))["max_connections"])


def all_synced(lab):
    hosts = members(lab, "db")
    for host in hosts:
        status = dict(sql(lab, host, "SHOW GLOBAL STATUS LIKE 'wsrep_%'", check=False))
        if status.get("wsrep_local_state_comment") != "Synced" or \
                status.get("wsrep_cluster_status") != "Primary" or \
                status.get("wsrep_cluster_size") != str(len(hosts)):
            return False
    return True


def mariadbd_pids(lab):
    return {h: lab.exec(h, ["cat", "/run/mysqld/mysqld.pid"], check=False).stdout.strip()
            for h in members(lab, "db")}


def broker_pids(lab):
    return {h: lab.exec(h, ["cat", "/run/rabbitmq/pid"], check=False).stdout.strip()
            for h in members(lab, "mq")}


def watermark(lab, host):
    out = lab.exec(host, ["rabbitmqctl", "-q", "eval",
                          "vm_memory_monitor:get_vm_memory_high_watermark()."]).stdout.strip()
    return float(out)


def rabbit_whole(lab):
    views = lab.salt("-L", ",".join(members(lab, "mq")), "hastack_rabbitmq.status")
    nodes = {f"rabbit@{h}" for h in members(lab, "mq")}
    return all(isinstance(v, dict) and set(v["running"]) == nodes and not v["partitions"]
               for v in views.values()) and len(views) == len(nodes)


def deployed_value(lab, host, path, key):
    """The value of `key = value` in a config file the formula wrote."""
    for line in lab.exec(host, ["cat", path]).stdout.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip()
    raise AssertionError(f"{key} not in {path} on {host}")


def ok_rows(rows):
    bad = [r for r in rows if r["result"] is not True]
    assert rows and not bad, bad
    return rows


def step_index(result):
    return {s["id"]: i for i, s in enumerate(result["steps"])}


def step_return(result, step_id, minion):
    step = next(s for s in result["steps"] if s["id"] == step_id)
    return step["raw"]["changes"]["ret"][minion]


def step_window(result, step_id):
    """(start, end) of an orchestration step as epoch seconds (the master runs on this machine)."""
    raw = next(s for s in result["steps"] if s["id"] == step_id)["raw"]
    clock = datetime.datetime.strptime(raw["start_time"], "%H:%M:%S.%f").time()
    start = datetime.datetime.combine(datetime.date.today(), clock).timestamp()
    return start, start + (raw.get("duration") or 0) / 1000


class PrimaryWatch(threading.Thread):
    """Polls wsrep_cluster_status on every db member that answers, until stopped.

    Each sample is (epoch time, host, status). A member being restarted does
    not answer, or answers non-Primary while it joins; every other member (a
    survivor) must say Primary, or the cluster lost its quorum for a moment.
    """

    def __init__(self, lab, interval=0.2):
        super().__init__(daemon=True)
        self.lab, self.interval = lab, interval
        self.samples = []
        self.skipped = 0
        self._halt = threading.Event()

    def run(self):
        hosts = members(self.lab, "db")
        while not self._halt.is_set():
            for host in hosts:
                try:
                    proc = self.lab.exec(host, ["mariadb", "-N", "-B", "-e",
                                                "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_status'"],
                                         check=False, timeout=30)
                except subprocess.TimeoutExpired:
                    self.skipped += 1
                    continue
                fields = proc.stdout.split()
                if proc.returncode != 0 or len(fields) != 2:
                    self.skipped += 1
                    continue
                self.samples.append((time.time(), host, fields[1]))
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join(60)

    def not_primary(self, own_windows):
        """Samples of survivors that were not Primary; own_windows: host -> (start, end) of its restart."""
        return [(round(t, 1), host, status) for t, host, status in self.samples if status != "Primary"
                and not own_windows[host][0] <= t <= own_windows[host][1]]


@pytest.fixture(scope="module", autouse=True)
def rolling_module(lab):
    # The master renders the plans: it needs the formula's current modules.
    lab.salt_run("saltutil.sync_all")
    lab.salt("*", "saltutil.sync_all")
    yield
    lab.set_pillar_override(None)
    print("\nRolling restart figures: " + json.dumps(FIGURES, sort_keys=True))


def change_settings(lab, override, sls, role):
    """Set the pillar override and apply only the config states (they restart nothing)."""
    lab.set_pillar_override(override)
    return ok_rows(lab.apply(",".join(members(lab, role)), sls, tgt_type="list"))


# ------------------------------------------------------------------ Galera
def test_galera_restart_refuses_while_a_member_is_not_synced(lab):
    pids = mariadbd_pids(lab)
    sql(lab, "ctl3", "SET GLOBAL wsrep_desync = ON")
    try:
        wait_until(lambda: dict(sql(lab, "ctl3", "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'"))
                   .get("wsrep_local_state_comment") != "Synced", 30, 0.2, "ctl3 desynced")
        result = lab.orchestrate("hastack.galera.restart")
    finally:
        sql(lab, "ctl3", "SET GLOBAL wsrep_desync = OFF")
    assert not result["ok"]
    errors = "\n".join(result["errors"])
    assert "refused, nothing was changed" in errors and "ctl3" in errors, errors
    assert [s["id"] for s in result["steps"] if "restarted" in s["id"]] == []
    assert mariadbd_pids(lab) == pids
    wait_until(lambda: all_synced(lab), 60, 0.5, "every member Synced again")


def test_galera_rolling_restart_applies_max_connections_without_losing_a_commit(lab):
    db = members(lab, "db")
    assert all(max_connections(lab, h) != GALERA_MAX_CONNECTIONS for h in db)
    prepare_probe_database(lab, db[0], DB)
    pids = mariadbd_pids(lab)
    rows = change_settings(lab, {"hastack": {"galera": {"max_connections": GALERA_MAX_CONNECTIONS}}},
                           "hastack.galera.config", "db")
    assert {r["minion"] for r in rows if r["id"] == "hastack-galera-config-file-managed" and r["changes"]} \
        == set(db)
    # Written, not yet running: the states never restart a member.
    assert mariadbd_pids(lab) == pids
    assert all(max_connections(lab, h) != GALERA_MAX_CONNECTIONS for h in db)

    load = CommitLoad(lab, DB)
    watch = PrimaryWatch(lab)
    load.start()
    try:
        load.wait_for_acks(50)
        watch.start()
        started = time.monotonic()
        result = lab.orchestrate("hastack.galera.restart")
        duration = round(time.monotonic() - started, 1)
        time.sleep(2)  # commits go on after the last member is back
    finally:
        watch.stop()
        load.stop()
    assert result["ok"], result["errors"]

    # One member at a time, the writer (ctl1, the HAProxy non-backup server) last.
    index = step_index(result)
    order = sorted(db, key=lambda h: index[f"hastack-galera-restart-{h}-restarted"])
    assert order == db[1:] + db[:1]
    for previous, member in zip(order, order[1:], strict=False):
        assert index[f"hastack-galera-restart-{previous}-healthy"] < index[f"hastack-galera-restart-{member}-drained"]
    for member in order:
        steps = [f"hastack-galera-restart-{member}-{s}" for s in
                 ("drained", "sessions-finished", "restarted", "ready", "healthy")]
        assert [index[s] for s in steps] == sorted(index[s] for s in steps)
    transfers = {m: step_return(result, f"hastack-galera-restart-{m}-restarted", m) for m in order}

    new_pids = mariadbd_pids(lab)
    assert all(new_pids[h] and new_pids[h] != pids[h] for h in db), (pids, new_pids)
    assert {h: max_connections(lab, h) for h in db} == {h: GALERA_MAX_CONNECTIONS for h in db}
    assert all_synced(lab)
    # Each member caught up incrementally from the others' gcache, not by a full copy.
    assert {m: t["transfer"] for m, t in transfers.items()} == {m: "IST" for m in order}, transfers

    # Every survivor stayed Primary while each member restarted, and it was watched.
    windows = {m: step_window(result, f"hastack-galera-restart-{m}-restarted") for m in order}
    own = [s for s in watch.samples if s[2] != "Primary"]
    assert len(watch.samples) > 20
    assert watch.not_primary(windows) == [], (len(watch.samples), watch.not_primary(windows))
    acked = load.acked()
    assert len(acked) > 100
    lost = missing_rows(lab, DB, acked)
    FIGURES["galera_restart_seconds"] = duration
    FIGURES["galera_member_seconds"] = {m: t["seconds"] for m, t in transfers.items()}
    FIGURES["galera_longest_commit_gap_seconds"] = load.longest_gap()
    FIGURES["galera_commits_acknowledged"] = len(acked)
    FIGURES["galera_commits_failed"] = load.failures
    FIGURES["galera_rows_lost"] = len(lost)
    FIGURES["galera_primary_samples"] = len(watch.samples)
    FIGURES["galera_non_primary_samples_of_the_restarting_member"] = len(own)
    print(f"\nGalera rolling restart: {duration}s, longest gap between acknowledged commits "
          f"{load.longest_gap()}s, {len(acked)} acknowledged, {load.failures} failed, {len(lost)} lost, "
          f"per member {FIGURES['galera_member_seconds']}")
    assert lost == set(), f"{len(lost)} acknowledged rows lost"


def test_galera_back_to_the_deployed_setting_without_a_second_restart(lab):
    # The restart itself is proven above; a second rolling restart would only
    # cost minutes. The deployed file comes back through the config state and
    # the running value through SET GLOBAL, so a later apply changes nothing.
    db = members(lab, "db")
    change_settings(lab, None, "hastack.galera.config", "db")
    deployed = int(deployed_value(lab, db[0], "/etc/mysql/mariadb.conf.d/60-galera.cnf", "max_connections"))
    assert deployed != GALERA_MAX_CONNECTIONS
    for host in db:
        sql(lab, host, f"SET GLOBAL max_connections = {deployed}")
    assert {h: max_connections(lab, h) for h in db} == {h: deployed for h in db}
    rows = ok_rows(lab.apply(",".join(db), "hastack.galera", tgt_type="list"))
    assert [(r["minion"], r["id"]) for r in rows if r["changes"]] == []
    sql(lab, db[0], f"DROP DATABASE IF EXISTS {DB}")


# ---------------------------------------------------------------- RabbitMQ
def test_rabbitmq_restart_refuses_while_a_broker_is_stopped(lab):
    pids = broker_pids(lab)
    lab.exec("ctl3", ["rabbitmqctl", "-q", "stop_app"])
    try:
        result = lab.orchestrate("hastack.rabbitmq.restart")
    finally:
        lab.exec("ctl3", ["rabbitmqctl", "-q", "start_app"])
    assert not result["ok"]
    errors = "\n".join(result["errors"])
    assert "refused, nothing was changed" in errors and "ctl3" in errors, errors
    assert broker_pids(lab) == pids
    wait_until(lambda: rabbit_whole(lab), 120, 1, "every broker running again")


def test_rabbitmq_rolling_restart_applies_a_setting_without_losing_a_confirmed_message(lab):
    mq = members(lab, "mq")
    assert all(abs(watermark(lab, h) - RABBIT_WATERMARK) > 0.001 for h in mq)
    pids = broker_pids(lab)
    change_settings(lab, {"hastack": {"rabbitmq": {"vm_memory_high_watermark": RABBIT_WATERMARK}}},
                    "hastack.rabbitmq.config", "mq")
    assert broker_pids(lab) == pids

    publisher = ConfirmedPublisher(lab, QUEUE, hosts=mq)
    publisher.start()
    try:
        publisher.wait_for_confirms(50)
        started = time.monotonic()
        result = lab.orchestrate("hastack.rabbitmq.restart")
        duration = round(time.monotonic() - started, 1)
        time.sleep(2)
    finally:
        publisher.stop()
    assert result["ok"], result["errors"]
    index = step_index(result)
    assert sorted(mq, key=lambda h: index[f"hastack-rabbitmq-restart-{h}-restarted"]) == mq
    per_node = {h: step_return(result, f"hastack-rabbitmq-restart-{h}-restarted", h)["seconds"] for h in mq}

    new_pids = broker_pids(lab)
    assert all(new_pids[h] and new_pids[h] != pids[h] for h in mq), (pids, new_pids)
    assert all(abs(watermark(lab, h) - RABBIT_WATERMARK) < 0.001 for h in mq)
    assert rabbit_whole(lab)

    confirmed = publisher.confirmed()
    assert len(confirmed) > 100
    got = consume_all(lab, mq[-1], QUEUE)
    lost = confirmed - set(got)
    FIGURES["rabbitmq_restart_seconds"] = duration
    FIGURES["rabbitmq_node_seconds"] = per_node
    FIGURES["rabbitmq_longest_confirm_gap_seconds"] = publisher.longest_gap()
    FIGURES["rabbitmq_messages_confirmed"] = len(confirmed)
    FIGURES["rabbitmq_publish_failures"] = publisher.failures
    FIGURES["rabbitmq_messages_lost"] = len(lost)
    print(f"\nRabbitMQ rolling restart: {duration}s, longest gap between confirms "
          f"{publisher.longest_gap()}s, {len(confirmed)} confirmed, {len(got)} consumed, "
          f"{publisher.failures} failed publishes, {len(lost)} lost, per node {per_node}")
    assert len(got) == len(set(got)), "a message was delivered twice"
    assert lost == set(), f"lost confirmed messages: {sorted(lost)[:10]}"


def test_rabbitmq_back_to_the_deployed_setting_without_a_second_restart(lab):
    mq = members(lab, "mq")
    change_settings(lab, None, "hastack.rabbitmq.config", "mq")
    deployed = float(deployed_value(lab, mq[0], "/etc/rabbitmq/rabbitmq.conf", "vm_memory_high_watermark.relative"))
    assert abs(deployed - RABBIT_WATERMARK) > 0.001
    for host in mq:
        lab.exec(host, ["rabbitmqctl", "-q", "set_vm_memory_high_watermark", str(deployed)])
    assert all(abs(watermark(lab, h) - deployed) < 0.001 for h in mq)
    rows = ok_rows(lab.apply(",".join(mq), "hastack.rabbitmq", tgt_type="list"))
    assert [(r["minion"], r["id"]) for r in rows if r["changes"]] == []
