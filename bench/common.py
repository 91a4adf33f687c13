"""Helpers the benchmarks share: statistics, machine facts, waiting, process accounting.

A benchmark is one module in bench/benchmarks/ with:

    ORDER = 50          # run order (lower first); `deploy` is first, outages last
    CHEAP = False       # True: part of `bench/run --quick` (seconds, no failure injected)
    UNIT = "s"
    TITLE = "..."       # one line for the README table
    def run(lab, runs): -> dict with at least "runs" (hastack's figures, one per run)

The runner adds name, unit, min/median/max, elapsed_s and the machine facts.
A side-by-side benchmark returns "peer": {"settings", "runs", ...} and the
runner adds the peer's min/median/max and "ratio" (hastack median / peer
median); one without a comparable peer setting returns "peer": None and
"peer_note" saying why.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("mariadb-server", "galera-4", "rabbitmq-server", "haproxy", "keepalived", "memcached")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def summary(values):
    """min/median/max of the numbers in values (None when there is none)."""
    nums = [v for v in values if isinstance(v, (int, float))]
    if not nums:
        return {"min": None, "median": None, "max": None}
    return {"min": round(min(nums), 3), "median": round(statistics.median(nums), 3),
            "max": round(max(nums), 3)}


def ratio(ours, theirs):
    if not isinstance(ours, (int, float)) or not isinstance(theirs, (int, float)) or not theirs:
        return None
    return round(ours / theirs, 3)


def machine():
    mem_kb = 0
    for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    versions = {}
    for pkg in PACKAGES:
        proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True,
                              check=False)
        versions[pkg] = proc.stdout.strip() or None
    try:
        import salt.version
        versions["salt"] = salt.version.__version__
    except ImportError:
        versions["salt"] = None
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    return {"cpus": os.cpu_count(), "mem_total_mb": mem_kb // 1024, "kernel": platform.release(),
            "python": platform.python_version(), "packages": versions, "commit": commit or None}


def wait_for(predicate, timeout, what, interval=0.2):
    """Poll predicate until it returns something truthy; returns (seconds, value)."""
    started = time.monotonic()
    while True:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - a daemon that is not back yet
            value = None
        if value:
            return time.monotonic() - started, value
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} not within {timeout}s")
        time.sleep(interval)


def ok_apply(lab, tgt, sls=None, tgt_type="glob"):
    """state.apply that must succeed; returns the rows."""
    rows = lab.apply(tgt, sls, tgt_type=tgt_type)
    bad = [f"{r['minion']}:{r['id']}: {r['comment']}"[:300] for r in rows if r["result"] is not True]
    if not rows or bad:
        raise RuntimeError(f"state.apply {sls or ''} on {tgt} failed: " + "; ".join(bad or ["no result"]))
    return rows


def formula_config():
    """hastack's merged defaults as the formula in this checkout has them (read at run time)."""
    from hastack_lab.lab import formula_config as config
    return config()


# ------------------------------------------------------------ processes
def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def pid_ns(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def proc_name(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def proc_cmdline(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# Tier of a process inside a host, by its name (comm) or command line.
TIER_OF_NAME = {
    "mariadbd": "galera", "mysqld_safe": "galera", "mysqld": "galera",
    "beam.smp": "rabbitmq", "epmd": "rabbitmq", "erl_child_setup": "rabbitmq", "inet_gethost": "rabbitmq",
    "heart": "rabbitmq",
    "haproxy": "haproxy", "keepalived": "keepalived", "memcached": "memcached",
}


def tier_of(pid):
    name = proc_name(pid)
    if name in TIER_OF_NAME:
        return TIER_OF_NAME[name]
    line = proc_cmdline(pid)
    if "salt-minion" in line:
        return "salt-minion"
    if "galera-health" in line:
        return "galera"
    if "hastack_lab.hostinit" in line:
        return "lab-init"
    return "other"


def lab_processes(lab):
    """{pid: (group, tier)}: every process in the lab hosts' PID namespaces, plus the lab's salt-master."""
    ns_to_host = {}
    for host, pid in lab._init_pids().items():
        ns = pid_ns(pid)
        if ns:
            ns_to_host[ns] = host
    master = set(lab._master_pids())
    found = {}
    for pid in all_pids():
        if pid in master:
            found[pid] = ("salt-master", "salt-master")
            continue
        host = ns_to_host.get(pid_ns(pid))
        if host is not None:
            found[pid] = (host, tier_of(pid))
    return found


def rss_kb(pid):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def pss_kb(pid):
    try:
        for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_ticks_with_children(pid):
    """utime + stime + cutime + cstime: the process and every child it reaped (0 when it is gone)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15])
    except (OSError, ValueError, IndexError):
        return 0


def cpu_ticks(pid):
    """utime + stime of a process in clock ticks (0 when it is gone)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


# --------------------------------------------------------------- galera
def db_hosts(lab):
    return [h for h in lab.hosts if "db" in lab.roles_of(h)]


def wsrep(lab, host):
    proc = lab.exec(host, ["mariadb", "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'wsrep_%'"], check=False,
                    timeout=15)
    return dict(line.split("\t", 1) for line in proc.stdout.splitlines() if "\t" in line)


def all_synced(lab, size=None):
    hosts = db_hosts(lab)
    size = size or len(hosts)
    for host in hosts:
        status = wsrep(lab, host)
        if (status.get("wsrep_local_state") != "4" or status.get("wsrep_cluster_status") != "Primary"
                or int(status.get("wsrep_cluster_size") or 0) != size):
            return False
    return True


# ---------------------------------------------------------------- healing
HEAL_ON = {"hastack": {"heal": {"enabled": True}}}
HEAL_CLUSTERS = ("galera", "rabbitmq", "memcached", "haproxy", "keepalived", "hosts")


@contextlib.contextmanager
def healing(lab, extra=None):
    """The auto-heal switched on (nothing under maintenance, backoff reset), back off afterwards."""
    lab.salt_run("hastack_heal.maintenance", ",".join(lab.hosts + ["galera", "rabbitmq", "memcached"]), "off")
    lab.salt_run("hastack_heal.reset", ",".join(HEAL_CLUSTERS))
    override = {"hastack": dict(HEAL_ON["hastack"])}
    if extra:
        override["hastack"]["heal"] = dict(HEAL_ON["hastack"]["heal"], **extra)
    lab.set_pillar_override(override)
    try:
        yield
    finally:
        lab.set_pillar_override(None)


def heal_figures(name, moments, gaps, lost):
    """The published dict of a heal_* benchmark: kill -> healed per run, commit gaps, lost rows."""
    log(f"[{name}] healed in {moments} s, longest commit gaps {gaps} s, lost rows {lost}")
    return {"runs": moments, "longest_commit_gap_s": dict(runs=gaps, **summary(gaps)), "lost": lost,
            "peer": None,
            "peer_note": "no peer heals this by itself: kolla-ansible and openstack-ansible leave it to an operator"
                         " (or to systemd's Restart= for a single daemon)"}


def pids_of(lab, host, name):
    return lab.exec(host, ["pgrep", "-x", name], check=False).stdout.split()


def rabbit_running_nodes(lab, host):
    view = lab.salt(host, "hastack_rabbitmq.status", "-t", "30").get(host)
    return len(view["running"]) if isinstance(view, dict) and view.get("healthy") else 0


def client_losses(lab, writer, publisher, database, queue, moment):
    """
    After a writer and a confirmed publisher were stopped: (lost rows, lost messages, longest commit
    gap, longest confirm gap) since ``moment``. Lost: acknowledged but not found afterwards.
    """
    import amqp_load  # pylint: disable=import-outside-toplevel
    import commit_load  # pylint: disable=import-outside-toplevel

    lost_rows = len(commit_load.missing_rows(lab, database, writer.acked()))
    got = set(amqp_load.consume_all(lab, lab.hosts[0], queue, timeout=120))
    lost_msgs = len(publisher.confirmed() - got)
    return lost_rows, lost_msgs, writer.longest_gap(after=moment), publisher.longest_gap(after=moment)
