"""memory: resident memory of the idle lab stack, per host and per tier (and the lab's salt-master).

RSS counts shared pages once per process (an upper bound); PSS shares them out,
so its sum is the better total. The figure (runs) is the PSS total in MiB, one
sample per run.
"""

import time

from common import lab_processes, pss_kb, rss_kb

ORDER = 20
CHEAP = True
UNIT = "MiB"
TITLE = "memory: PSS of the whole lab stack (3 hosts + salt-master)"


def sample(lab):
    by_host, by_tier = {}, {}
    for pid, (group, tier) in lab_processes(lab).items():
        rss, pss = rss_kb(pid), pss_kb(pid)
        for table, key in ((by_host, group), (by_tier, tier)):
            row = table.setdefault(key, {"processes": 0, "rss_kb": 0, "pss_kb": 0})
            row["processes"] += 1
            row["rss_kb"] += rss
            row["pss_kb"] += pss

    def mib(table):
        return {k: {"processes": v["processes"], "rss_mib": round(v["rss_kb"] / 1024, 1),
                    "pss_mib": round(v["pss_kb"] / 1024, 1)} for k, v in sorted(table.items())}
    total_pss = sum(v["pss_kb"] for v in by_host.values()) / 1024
    total_rss = sum(v["rss_kb"] for v in by_host.values()) / 1024
    return round(total_pss, 1), round(total_rss, 1), mib(by_host), mib(by_tier)


def run(lab, runs):
    values, rss = [], []
    for i in range(runs):
        if i:
            time.sleep(2)
        pss_total, rss_total, by_host, by_tier = sample(lab)
        values.append(pss_total)
        rss.append(rss_total)
    return {"runs": values, "rss_total_mib": rss, "by_host": by_host, "by_tier": by_tier, "peer": None,
            "peer_note": "no peer setting applies: the same daemons; the peers' memory settings "
                         "(buffer pool, gcache) are the operator's choice"}
