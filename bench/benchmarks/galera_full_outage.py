"""galera_full_outage: every mariadbd killed -9 under the commit loop; time until commits work again.

The commit loop of tests/commit_load.py runs through VIP:3306 while MariaDB
(mysqld_safe with it) is killed -9 on every db host at once. Recovery is
`salt-run state.orch hastack.galera.recover` (started right after the kills,
as an operator would; the auto-heal work will need no human). The figure is
the time from the kills to the first acknowledged commit after them;
acknowledged rows lost must be 0.
"""

import threading
import time

import commit_load
from common import all_synced, db_hosts, log, summary, wait_for

ORDER = 70
CHEAP = False
UNIT = "s"
TITLE = "galera_full_outage: kill -9 of every mariadbd to commits again (hastack.galera.recover)"
DATABASE = "hastack_bench"


def one_run(lab):
    wait_for(lambda: all_synced(lab), 300, "every node Synced", interval=1)
    load = commit_load.CommitLoad(lab, DATABASE, interval=0.02, max_seconds=600)
    load.start()
    try:
        load.wait_for_acks(20, timeout=60)
        hosts = db_hosts(lab)
        moment = time.monotonic()
        killers = [threading.Thread(target=lab.crash, args=(h, "mysqld_safe", "mariadbd")) for h in hosts]
        for k in killers:
            k.start()
        for k in killers:
            k.join()
        recover_started = time.monotonic()
        result = lab.orchestrate("hastack.galera.recover")
        recover_s = round(time.monotonic() - recover_started, 1)
        if not result["ok"]:
            raise RuntimeError("hastack.galera.recover failed: " + "; ".join(result["errors"]))
        took, _ = wait_for(lambda: [t for t, _ in load.acks if t > moment + 0.5], 300,
                           "a commit after the recovery", interval=0.05)
        first = min(t for t, _ in load.acks if t > moment + 0.5)
    finally:
        load.stop()
    wait_for(lambda: all_synced(lab), 300, "every node Synced", interval=1)
    lost = len(commit_load.missing_rows(lab, DATABASE, load.acked()))
    gap = round(first - moment, 2)
    log(f"[galera_full_outage] commits again {gap}s after the kills (recover orchestration {recover_s}s), "
        f"{lost} lost")
    return gap, recover_s, lost


def run(lab, runs):
    commit_load.prepare_probe_database(lab, db_hosts(lab)[0], DATABASE)
    gaps, recover, lost = [], [], []
    for _ in range(runs):
        g, r, lo = one_run(lab)
        gaps.append(g)
        recover.append(r)
        lost.append(lo)
    return {"runs": gaps, "recover_orchestration_s": dict(runs=recover, **summary(recover)), "lost": lost,
            "peer": None,
            "peer_note": "no peer default to set side by side: the peers recover a whole-cluster outage by an "
                         "operator playbook too (kolla-ansible mariadb_recovery, openstack-ansible "
                         "galera_cluster bootstrap), not in this lab"}
