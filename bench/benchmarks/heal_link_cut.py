"""heal_link_cut: one host's link cut for 30 s under load; what the clients feel and time to healed.

Healing on with the default heal:host_grace (longer than the cut: nobody is
declared lost or forgotten). The commit loop through VIP:3306 and the
confirmed publisher run while the last host's only link is down for 30 s
(its Galera node goes non-Primary, its RabbitMQ node pauses under
pause_minority, keepalived on it faults). The figure: seconds from the link
coming back to the whole stack healthy; also the longest gap of
acknowledged commits and of confirms around the cut, and what was lost
(must be 0).
"""

import time

import amqp_load
import commit_load
from common import client_losses, healing, log, summary, wait_for

ORDER = 82
CHEAP = False
UNIT = "s"
TITLE = "heal_link_cut: link back after a 30 s cut of one host to the whole stack healthy"
DATABASE = "hastack_bench"
QUEUE = "hastack_bench_heal"
CUT_S = 30


def one_run(lab):
    victim = lab.hosts[-1]
    wait_for(lambda: not lab.stack_problems(), 600, "the whole stack healthy", interval=5)
    writer = commit_load.CommitLoad(lab, DATABASE, interval=0.05, max_seconds=900)
    publisher = amqp_load.ConfirmedPublisher(lab, QUEUE, hosts=lab.hosts[:-1], interval=0.1, max_seconds=900)
    writer.start()
    publisher.start()
    try:
        writer.wait_for_acks(20, timeout=60)
        publisher.wait_for_confirms(10, timeout=60)
        moment = time.monotonic()
        lab.set_link(victim, False)
        try:
            time.sleep(CUT_S)
        finally:
            lab.set_link(victim, True)
        back = time.monotonic()
        wait_for(lambda: not lab.stack_problems(), 600, "the whole stack healthy", interval=2)
        healed = round(time.monotonic() - back, 1)
        writer.wait_for_acks(len(writer.acks) + 20, timeout=120)
        publisher.wait_for_confirms(len(publisher.confirms) + 10, timeout=120)
    finally:
        writer.stop()
        publisher.stop()
    lost_rows, lost_msgs, gap, confirm_gap = client_losses(lab, writer, publisher, DATABASE, QUEUE, moment)
    log(f"[heal_link_cut] {victim} cut {CUT_S}s: healed {healed}s after the link came back; longest commit "
        f"gap {gap}s, confirm gap {confirm_gap}s; lost {lost_rows} rows, {lost_msgs} messages")
    return healed, gap, confirm_gap, lost_rows + lost_msgs


def run(lab, runs):
    commit_load.prepare_probe_database(lab, lab.hosts[0], DATABASE)
    healed, gaps, confirm_gaps, lost = [], [], [], []
    with healing(lab):
        for _ in range(runs):
            h, g, c, lo = one_run(lab)
            healed.append(h)
            gaps.append(g)
            confirm_gaps.append(c)
            lost.append(lo)
    return {"runs": healed, "longest_commit_gap_s": dict(runs=gaps, **summary(gaps)),
            "longest_confirm_gap_s": dict(runs=confirm_gaps, **summary(confirm_gaps)), "lost": lost,
            "peer": None,
            "peer_note": "no peer default to set side by side here: the partition handling (pause_minority, "
                         "Galera quorum) is the same in the peers; only the healer's part is hastack's"}
