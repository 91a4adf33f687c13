"""heal_master_restart: a broker killed -9, the salt master restarted while its heal runs.

The confirmed publisher of tests/amqp_load.py runs against a quorum queue.
The broker of one mq host is killed -9; as soon as the healer fires
`hastack/heal/rabbitmq/start`, the lab's salt master is restarted (SIGTERM,
start). The reconciler of the new master closes the interrupted heal and, if
the broker is still down, heals it again. Figures: the time from the kill to
three running brokers (runs), the longest gap between two confirms, messages
confirmed but lost (must be 0).
"""

import json
import subprocess
import time

import amqp_load
from common import healing, log, summary, wait_for

ORDER = 82
CHEAP = False
UNIT = "s"
TITLE = "heal_master_restart: kill -9 of a broker, master restarted mid-heal, to three brokers running"
QUEUE = "hastack_bench_heal"
HOST = "ctl2"


def running_brokers(lab, host):
    view = lab.salt(host, "hastack_rabbitmq.status", "-t", "30").get(host)
    return len(view["running"]) if isinstance(view, dict) and view.get("healthy") else 0


def wait_heal_start(lab, timeout=180):
    """Block until the healer fires hastack/heal/rabbitmq/start for HOST."""
    proc = subprocess.Popen(lab.salt_cmd("salt-run", "state.event", "tagmatch=hastack/heal/rabbitmq/start",
                                         "count=-1"), stdout=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            _, _, data = line.partition("\t")
            if json.loads(data or "{}").get("target") == HOST:
                return
            if time.monotonic() > deadline:
                break
        raise TimeoutError(f"no rabbitmq heal of {HOST} started within {timeout}s")
    finally:
        proc.terminate()
        proc.wait(10)


def one_run(lab):
    wait_for(lambda: running_brokers(lab, "ctl1") == 3, 300, "three brokers", interval=2)
    publisher = amqp_load.ConfirmedPublisher(lab, QUEUE, interval=0.02, max_seconds=900)
    publisher.start()
    try:
        publisher.wait_for_confirms(20, 60)
        pid = lab.exec(HOST, ["cat", "/run/rabbitmq/pid"]).stdout.strip()
        moment = time.monotonic()
        lab.exec(HOST, ["kill", "-9", pid])
        wait_heal_start(lab)
        lab.restart_master()
        wait_for(lambda: running_brokers(lab, "ctl1") == 3 and running_brokers(lab, HOST) == 3, 600,
                 "three brokers after the heal", interval=2)
        back = time.monotonic() - moment
        confirmed = len(publisher.confirmed())
        publisher.wait_for_confirms(confirmed + 20, 120)
    finally:
        publisher.stop()
    gap = publisher.longest_gap(after=moment)
    got = set(amqp_load.consume_all(lab, "ctl1", QUEUE))
    lost = len(set(publisher.confirmed()) - got)
    return round(back, 1), gap, lost


def run(lab, runs):
    backs, gaps, lost = [], [], []
    with healing(lab):
        for _ in range(runs):
            b, g, lo = one_run(lab)
            backs.append(b)
            gaps.append(g)
            lost.append(lo)
    log(f"[heal_master_restart] three brokers {backs} s after the kill, longest confirm gaps {gaps} s, lost {lost}")
    return {"runs": backs, "longest_confirm_gap_s": dict(runs=gaps, **summary(gaps)), "lost": lost, "peer": None,
            "peer_note": "no peer heals a broker by itself nor survives its own controller restarting mid-heal:"
                         " kolla-ansible and openstack-ansible leave it to an operator"}
