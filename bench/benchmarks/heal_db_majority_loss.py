"""heal_db_majority_loss: two of three db hosts lose power; no bootstrap, one cluster after their return.

Healing on (pillar override, heal:host_grace 30 s), the commit loop through
VIP:3306. Two hosts are powered off: the survivor loses the Primary
Component and the healer refuses to bootstrap it (hastack/heal/galera/refused);
both are powered on again once declared lost, and the healer's host_back
brings them back. The figure: seconds from the power-on to the whole stack
healthy; also the power-off to the refusal, the longest gap of acknowledged
commits (the outage itself: no Primary while they are off) and rows lost
(must be 0).
"""

import time

import commit_load
from common import healing, log, summary, wait_for

ORDER = 81
CHEAP = False
UNIT = "s"
TITLE = "heal_db_majority_loss: power-on of 2 of 3 lost db hosts to the whole stack healthy (auto-heal)"
DATABASE = "hastack_bench"


def heal_history(lab, since, **match):
    recent = lab.salt_run("hastack_heal.status", "count=200")["recent"]
    return [e for e in recent if float(e.get("started") or 0) >= since
            and all(e.get(k) == v for k, v in match.items())]


def one_run(lab):
    victims = lab.hosts[1:]
    wait_for(lambda: not lab.stack_problems(), 600, "the whole stack healthy", interval=5)
    writer = commit_load.CommitLoad(lab, DATABASE, interval=0.05, max_seconds=1800)
    writer.start()
    try:
        writer.wait_for_acks(20, timeout=60)
        moment, wall = time.monotonic(), time.time()
        lab.poweroff(*victims)
        refused, _ = wait_for(lambda: heal_history(lab, wall, cluster="galera", phase="refused"), 600,
                              "the bootstrap refusal", interval=2)
        wait_for(lambda: len(heal_history(lab, wall, cluster="rabbitmq", action="forget_host")) >= 2 or
                 time.monotonic() - moment > 120, 300, "both hosts declared lost", interval=5)
        lab.poweron(*victims)
        on = time.monotonic()
        wait_for(lambda: not lab.stack_problems(), 1200, "the whole stack healthy", interval=2)
        healed = round(time.monotonic() - on, 1)
        writer.wait_for_acks(len(writer.acks) + 20, timeout=120)
    finally:
        writer.stop()
    lost = len(commit_load.missing_rows(lab, DATABASE, writer.acked()))
    gap = writer.longest_gap(after=moment)
    log(f"[heal_db_majority_loss] refused {refused:.1f}s after the power-off, healed {healed}s after the "
        f"power-on; longest commit gap {gap}s; lost {lost} rows")
    return healed, round(refused, 1), gap, lost


def run(lab, runs):
    commit_load.prepare_probe_database(lab, lab.hosts[0], DATABASE)
    healed, refused, gaps, lost = [], [], [], []
    with healing(lab, {"host_grace": 30}):
        for _ in range(runs):
            h, r, g, lo = one_run(lab)
            healed.append(h)
            refused.append(r)
            gaps.append(g)
            lost.append(lo)
    return {"runs": healed, "poweroff_to_refusal_s": dict(runs=refused, **summary(refused)),
            "longest_commit_gap_s": dict(runs=gaps, **summary(gaps)), "lost": lost, "peer": None,
            "peer_note": "no peer default to set side by side: the peers leave a lost Primary Component to an "
                         "operator's recovery playbook"}
