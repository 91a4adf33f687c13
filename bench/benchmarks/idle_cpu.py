"""idle_cpu: CPU the idle stack burns, per host and per tier, from /proc utime+stime over a window.

Each run samples every process of the lab hosts (and the lab's salt-master)
at the start and end of a WINDOW-second window with no load; the figure is
the whole lab's CPU in percent of one core. Processes born and gone inside
the window are not counted.
"""

import os
import time

from common import cpu_ticks, lab_processes

ORDER = 21
CHEAP = True
UNIT = "% of one core"
TITLE = "idle_cpu: CPU of the idle lab stack (3 hosts + salt-master)"
WINDOW = 10
HZ = os.sysconf("SC_CLK_TCK")


def window(lab, seconds):
    procs = lab_processes(lab)
    before = {pid: cpu_ticks(pid) for pid in procs}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    by_host, by_tier = {}, {}
    for pid, (group, tier) in procs.items():
        used = max(cpu_ticks(pid) - before[pid], 0) / HZ
        by_host[group] = by_host.get(group, 0) + used
        by_tier[tier] = by_tier.get(tier, 0) + used

    def pct(table):
        return {k: round(100 * v / elapsed, 2) for k, v in sorted(table.items())}
    return round(100 * sum(by_host.values()) / elapsed, 2), pct(by_host), pct(by_tier)


def run(lab, runs):
    values, hosts, tiers = [], [], []
    for _ in range(runs):
        total, by_host, by_tier = window(lab, WINDOW)
        values.append(total)
        hosts.append(by_host)
        tiers.append(by_tier)
    return {"runs": values, "window_s": WINDOW, "by_host": hosts[-1], "by_tier": tiers[-1], "peer": None,
            "peer_note": "no peer setting applies yet; the auto-heal beacons will add to this figure"}
