"""db_commit_gap: the longest gap between acknowledged commits when a Galera node dies (kill -9).

The commit loop of tests/commit_load.py (a new connection per commit, one
commit every 20 ms, through VIP:3306) runs while MariaDB of the writer (the
node HAProxy sends every connection to), then of a backup node, is killed -9
(mysqld_safe with it, so nothing restarts it). Measured per kill: the longest
gap between two acknowledged commits after the kill, the commits that failed,
and acknowledged rows lost (must be 0). The node comes back with `state.apply hastack.galera`
on it and the cluster is Synced again before the next kill. The figure (runs)
is the worse of the writer and backup gaps of each run.

hastack's side is whatever the formula's defaults are when the benchmark runs
(hastack:haproxy:check, hastack:galera:failure_detection and
provider_options, read from the formula, never hard-coded here). Side by side, set through the pillar on the
same lab, with Galera's own default evs timeouts:
- kolla-ansible: its Galera backend servers carry `inter 2000 rise 2 fall 5`.
- openstack-ansible: the haproxy_server role's defaults `haproxy_interval: 12000`,
  `haproxy_rise: 3`, `haproxy_fall: 3` (defaults/main.yml of
  openstack/openstack-ansible-haproxy_server; the galera service in its
  group_vars only adds the 9200 httpchk and backup nodes, no timings of its own).
  Its 36 s detection makes a run long, so it gets PEER2_RUNS runs.
The Galera provider options go to the daemons with `hastack.galera` and the
rolling restart `state.orch hastack.galera.restart`; everything is put back
the same way afterwards.
"""

import time

import commit_load
from common import all_synced, db_hosts, formula_config, log, ok_apply, summary, wait_for

ORDER = 60
CHEAP = False
UNIT = "s"
TITLE = "db_commit_gap: longest commit gap, kill -9 of a Galera node (writer or backup)"
DATABASE = "hastack_bench"
PEER2_RUNS = 1

# Galera 4's own defaults of the group-communication timeouts (galera docs,
# "Galera Parameters").
GALERA_DEFAULT_EVS = {
    "evs.suspect_timeout": "PT5S",
    "evs.inactive_timeout": "PT15S",
    "evs.keepalive_period": "PT1S",
    "evs.inactive_check_period": "PT0.5S",
    "evs.join_retrans_period": "PT1S",
    "evs.install_timeout": "PT7.5S",
}
PEERS = [
    ("kolla-ansible", {"inter": 2000, "fastinter": 2000, "downinter": 2000, "rise": 2, "fall": 5}),
    ("openstack-ansible", {"inter": 12000, "fastinter": 12000, "downinter": 12000, "rise": 3, "fall": 3}),
]


def kill_once(lab, host):
    """Kill MariaDB on host under the commit loop; (gap, failed commits, lost rows)."""
    load = commit_load.CommitLoad(lab, DATABASE, interval=0.02, max_seconds=300)
    load.start()
    try:
        load.wait_for_acks(20, timeout=60)
        moment = time.monotonic()
        lab.crash(host, "mysqld_safe", "mariadbd")
        failed_before = load.failures
        done = time.monotonic()
        wait_for(lambda: [t for t, _ in load.acks if t > done + 0.5], 120, "commits after the kill",
                 interval=0.05)
        load.wait_for_acks(len(load.acks) + 25, timeout=60)
    finally:
        load.stop()
    gap = load.longest_gap(after=moment)
    failed = load.failures - failed_before
    started = time.monotonic()
    ok_apply(lab, host, "hastack.galera")
    wait_for(lambda: all_synced(lab), 300, "every node Synced again", interval=1)
    back = round(time.monotonic() - started, 1)
    lost = len(commit_load.missing_rows(lab, DATABASE, load.acked()))
    log(f"[db_commit_gap]   kill -9 {host}: gap {gap}s, {failed} failed commits, {lost} lost, back in {back}s")
    return {"gap": gap, "failed": failed, "lost": lost, "back_s": back}


def measure(lab, runs):
    cases = {"writer": [], "backup": []}
    worst = []
    for i in range(runs):
        wait_for(lambda: all_synced(lab), 300, "every node Synced", interval=1)
        writer = commit_load.writer_via_vip(lab)
        backup = [h for h in db_hosts(lab) if h != writer][-1]
        got = {"writer": kill_once(lab, writer), "backup": kill_once(lab, backup)}
        for case, row in got.items():
            cases[case].append(row)
        worst.append(max(row["gap"] for row in got.values() if row["gap"] is not None))
        log(f"[db_commit_gap] run {i + 1}: worst gap {worst[-1]}s")
    out = {}
    for case, rows in cases.items():
        gaps = [r["gap"] for r in rows]
        out[case] = dict(runs=gaps, **summary(gaps), failed=[r["failed"] for r in rows],
                         lost=[r["lost"] for r in rows], back_s=[r["back_s"] for r in rows])
    return worst, out


def effective_provider_options(config):
    """hastack's failure-detection timeouts with the extra provider options over them (as the formula merges)."""
    galera = config["galera"]
    merged = {**(galera.get("failure_detection") or {}), **(galera.get("provider_options") or {})}
    return {k: str(v) for k, v in merged.items()}


def apply_settings(lab, override, restart):
    lab.set_pillar_override(override)
    hosts = ",".join(lab.hosts)
    ok_apply(lab, hosts, "hastack.haproxy", tgt_type="list")
    if restart:
        ok_apply(lab, ",".join(db_hosts(lab)), "hastack.galera", tgt_type="list")
        result = lab.orchestrate("hastack.galera.restart")
        if not result["ok"]:
            raise RuntimeError("hastack.galera.restart failed: " + "; ".join(result["errors"]))
    wait_for(lambda: all_synced(lab), 300, "every node Synced", interval=1)


def live_provider_options(lab):
    proc = lab.exec(db_hosts(lab)[0], ["mariadb", "-N", "-B", "-e", "SELECT @@wsrep_provider_options"])
    live = {}
    for item in proc.stdout.strip().split(";"):
        if "=" in item:
            key, value = item.split("=", 1)
            if key.strip().startswith("evs."):
                live[key.strip()] = value.strip()
    return live


def run(lab, runs):
    config = formula_config()
    ours_check = dict(config["haproxy"]["check"])
    ours_options = effective_provider_options(config)
    commit_load.prepare_probe_database(lab, db_hosts(lab)[0], DATABASE)
    log(f"[db_commit_gap] hastack: check {ours_check}, provider_options {ours_options}")
    hastack_live = live_provider_options(lab)
    worst, cases = measure(lab, runs)
    # The peers keep Galera's defaults: a rolling restart only when hastack's differ.
    peer_options = dict(GALERA_DEFAULT_EVS)
    restart = any(hastack_live.get(k) != v for k, v in peer_options.items())
    peers = []
    try:
        for name, check in PEERS:
            peer_runs = runs if not peers else min(runs, PEER2_RUNS)
            log(f"[db_commit_gap] peer {name}: check {check}, Galera default evs timeouts ({peer_runs} run(s))")
            apply_settings(lab, {"hastack": {"haproxy": {"check": check},
                                             "galera": {"provider_options": peer_options}}},
                           restart=restart and not peers)
            peer_worst, peer_cases = measure(lab, peer_runs)
            peers.append({"name": name, "settings": {"haproxy_check": check, "galera_provider_options": peer_options},
                          "runs": peer_worst, **summary(peer_worst), "cases": peer_cases})
    finally:
        apply_settings(lab, None, restart=restart)
    for case in cases:
        cases[case]["peer"] = {p["name"]: {k: p["cases"][case][k] for k in ("runs", "min", "median", "max")}
                               for p in peers}
    return {"runs": worst,
            "settings": {"haproxy_check": ours_check, "galera_provider_options": ours_options,
                         "galera_live_evs": hastack_live},
            "target": 1.5, "cases": cases, "lost": sum(sum(c["lost"]) for c in cases.values()),
            "peer": peers[0], "peers": peers}
