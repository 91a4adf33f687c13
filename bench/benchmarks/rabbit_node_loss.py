"""rabbit_node_loss: confirmed publishes to a quorum queue while the queue leader's broker is killed -9.

The publisher of tests/amqp_load.py (persistent messages, publisher confirms,
one every 20 ms, moving to the next broker when its connection fails) runs
while the broker (beam.smp) of the node that leads the queue is killed -9.
Measured: the longest gap between two confirms (the figure), messages
confirmed but not consumable afterwards (must be 0), and the seconds until the
node runs in the cluster again after `state.apply hastack.rabbitmq` on it.
"""

import time

import amqp_load
from common import log, ok_apply, summary, wait_for

ORDER = 50
CHEAP = False
UNIT = "s"
TITLE = "rabbit_node_loss: longest confirm gap, kill -9 of the quorum queue leader's broker"
QUEUE = "hastack_bench"


def leader(lab, host):
    out = lab.exec(host, ["rabbitmqctl", "-q", "list_queues", "-p", amqp_load.VHOST, "name", "leader"],
                   timeout=30).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == QUEUE:
            node = parts[1].split("@", 1)[-1]
            return node if node in lab.hosts else None
    return None


def cluster_running(lab, host):
    view = lab.salt(host, "hastack_rabbitmq.status").get(host)
    return isinstance(view, dict) and len(view.get("running", [])) == len(lab.hosts) and not view.get("partitions")


def one_run(lab):
    wait_for(lambda: all(cluster_running(lab, h) for h in lab.hosts[:1]), 120, "every broker running", interval=1)
    publisher = amqp_load.ConfirmedPublisher(lab, QUEUE, interval=0.02, max_seconds=300)
    publisher.start()
    try:
        publisher.wait_for_confirms(20, timeout=60)
        _, victim = wait_for(lambda: leader(lab, lab.hosts[0]), 30, "the queue's leader", interval=0.5)
        moment = time.monotonic()
        lab.crash(victim, "beam.smp")
        done = time.monotonic()
        wait_for(lambda: [t for t, _ in publisher.confirms if t > done + 0.5], 120, "confirms after the kill",
                 interval=0.05)
        publisher.wait_for_confirms(len(publisher.confirms) + 25, timeout=60)
    finally:
        publisher.stop()
    gap = publisher.longest_gap(after=moment)
    started = time.monotonic()
    ok_apply(lab, victim, "hastack.rabbitmq")
    wait_for(lambda: cluster_running(lab, victim), 180, f"{victim} running in the cluster", interval=1)
    back = round(time.monotonic() - started, 1)
    reader = next(h for h in lab.hosts if h != victim)
    got = set(amqp_load.consume_all(lab, reader, QUEUE, timeout=120))
    lost = len(publisher.confirmed() - got)
    log(f"[rabbit_node_loss] kill -9 broker on {victim} (leader): gap {gap}s, {publisher.failures} failed "
        f"publishes, {lost} lost, back in {back}s")
    return gap, lost, back, publisher.failures


def run(lab, runs):
    gaps, lost, back, failed = [], [], [], []
    for _ in range(runs):
        g, lo, b, f = one_run(lab)
        gaps.append(g)
        lost.append(lo)
        back.append(b)
        failed.append(f)
    return {"runs": gaps, "lost": lost, "failed_publishes": failed,
            "back_after_apply_s": dict(runs=back, **summary(back)), "peer": None,
            "peer_note": "no comparable peer default: kill -9 of a broker closes its sockets at once, so "
                         "net_ticktime (60 s default vs hastack's) does not enter; the queue type (quorum here) "
                         "is the operator's choice in the peers too, not a default we could match"}
