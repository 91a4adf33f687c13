"""heal_vip_holder: HAProxy and keepalived killed -9 together on the VIP holder; the auto-heal restarts both.

The commit loop of tests/commit_load.py runs through VIP:3306. keepalived on
the other hosts moves the VIP by itself; the healer's service heals start
both daemons on the old holder again. Figures: the time from the kills to both
daemons running on the old holder with exactly one VIP holder (runs), the time
until the VIP left it, and the longest gap between two acknowledged commits.
"""

import time

import commit_load
from common import db_hosts, heal_figures, healing, log, summary, wait_for

from hastack_lab.lab import vip_holders

ORDER = 81
CHEAP = False
UNIT = "s"
TITLE = "heal_vip_holder: kill -9 of haproxy+keepalived on the VIP holder to both back, by the auto-heal"
DATABASE = "hastack_bench"


def one_run(lab):
    wait_for(lambda: len(vip_holders(lab)) == 1, 120, "one VIP holder", interval=1)
    old = vip_holders(lab)[0]
    load = commit_load.CommitLoad(lab, DATABASE, interval=0.02, max_seconds=900)
    load.start()
    try:
        load.wait_for_acks(20, timeout=60)
        moment = time.monotonic()
        lab.crash(old, "haproxy", "keepalived")
        # kill -9 leaves the address on the old holder until its keepalived starts
        # again: the VIP has moved once another host holds it too.
        wait_for(lambda: set(vip_holders(lab)) - {old}, 120, "the VIP to move", interval=0.1)
        moved = time.monotonic() - moment

        def healed():
            running = all(lab.exec(old, ["pgrep", "-x", name], check=False).returncode == 0
                          for name in ("haproxy", "keepalived"))
            return running and len(vip_holders(lab)) == 1
        wait_for(healed, 600, f"haproxy and keepalived back on {old}", interval=0.5)
        back = time.monotonic() - moment
        acked = len(load.acks)
        wait_for(lambda: len(load.acks) >= acked + 20, 120, "commits after the heal", interval=0.1)
    finally:
        load.stop()
    gap = load.longest_gap(after=moment)
    lost = len(commit_load.missing_rows(lab, DATABASE, load.acked()))
    return round(back, 1), round(moved, 2), gap, lost


def run(lab, runs):
    commit_load.prepare_probe_database(lab, db_hosts(lab)[0], DATABASE)
    backs, moves, gaps, lost = [], [], [], []
    with healing(lab):
        for _ in range(runs):
            b, m, g, lo = one_run(lab)
            backs.append(b)
            moves.append(m)
            gaps.append(g)
            lost.append(lo)
    log(f"[heal_vip_holder] VIP moved after {moves} s")
    return dict(heal_figures("heal_vip_holder", backs, gaps, lost), vip_moved_s=dict(runs=moves, **summary(moves)))
