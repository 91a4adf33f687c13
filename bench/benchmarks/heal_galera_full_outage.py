"""heal_galera_full_outage: every mariadbd killed -9 under the commit loop; the auto-heal alone brings it back.

Like galera_full_outage, but nobody runs a recovery: the healer (beacons, the
reconciler, orch/heal/galera.sls) starts every member and lets pc.recovery
restore the Primary Component, or after hastack:heal:galera_outage_grace runs
the safe recovery. The figure is the time from the kills to every member
Synced in one Primary Component again; also the longest gap between two
acknowledged commits (what a client feels) and lost acknowledged rows (must be 0).
"""

import threading
import time

import commit_load
from common import all_synced, db_hosts, heal_figures, healing, log, wait_for

ORDER = 80
CHEAP = False
UNIT = "s"
TITLE = "heal_galera_full_outage: kill -9 of every mariadbd to Synced x3 again, by the auto-heal alone"
DATABASE = "hastack_bench"


def one_run(lab):
    wait_for(lambda: all_synced(lab), 300, "every node Synced", interval=1)
    load = commit_load.CommitLoad(lab, DATABASE, interval=0.02, max_seconds=900)
    load.start()
    try:
        load.wait_for_acks(20, timeout=60)
        killers = [threading.Thread(target=lab.crash, args=(h, "mysqld_safe", "mariadbd")) for h in db_hosts(lab)]
        moment = time.monotonic()
        for k in killers:
            k.start()
        for k in killers:
            k.join()
        wait_for(lambda: all_synced(lab), 600, "every node Synced (healed)", interval=1)
        healed = time.monotonic() - moment
        acked = len(load.acks)
        wait_for(lambda: len(load.acks) >= acked + 20, 120, "commits after the heal", interval=0.1)
    finally:
        load.stop()
    gap = load.longest_gap(after=moment)
    lost = len(commit_load.missing_rows(lab, DATABASE, load.acked()))
    log(f"[heal_galera_full_outage] Synced x3 {healed:.1f}s after the kills, longest commit gap {gap}s")
    return round(healed, 1), gap, lost


def run(lab, runs):
    commit_load.prepare_probe_database(lab, db_hosts(lab)[0], DATABASE)
    moments, gaps, lost = [], [], []
    with healing(lab):
        for _ in range(runs):
            m, g, lo = one_run(lab)
            moments.append(m)
            gaps.append(g)
            lost.append(lo)
    return heal_figures("heal_galera_full_outage", moments, gaps, lost)
