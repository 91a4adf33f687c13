"""deploy: `hastack-lab up` from nothing to a healthy stack, packages already on the machine.

Each run brings the lab down, then up with the deploy (hosts, salt-master,
minions, `state.orch hastack.deploy`). One run takes minutes on two cores, so
the benchmark runs at most MAX_RUNS times whatever --runs asks (the 30-minute
budget of bench/run). It leaves the lab up and deployed for the benchmarks after it.
"""

import time

from common import log

ORDER = 0
CHEAP = False
UNIT = "s"
TITLE = "deploy: lab up to a healthy stack (packages cached)"
MAX_RUNS = 1


def run(lab, runs):
    values, steps = [], []
    for i in range(min(runs, MAX_RUNS)):
        log(f"[deploy] run {i + 1}: down, then up with deploy")
        lab.down()
        started = time.monotonic()
        lab.up(deploy=False)
        minions_s = time.monotonic() - started
        result = lab.deploy()
        values.append(round(time.monotonic() - started, 1))
        steps.append({"hosts_and_minions_s": round(minions_s, 1),
                      "steps_s": {s["id"]: round(s["duration_ms"] / 1000, 1) for s in result["steps"]}})
    return {"runs": values, "details": steps, "peer": None,
            "peer_note": "no peer setting applies: the peers' deployers (kolla-ansible, openstack-ansible) "
                         "do not run in this lab"}
