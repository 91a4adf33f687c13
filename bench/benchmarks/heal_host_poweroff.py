"""heal_host_poweroff: one host's power cut and return under load, repaired by the auto-heal alone.

Healing on (pillar override, heal:host_grace 30 s), the commit loop of
tests/commit_load.py through VIP:3306 and the confirmed publisher of
tests/amqp_load.py. The last host is powered off (kill -9 of its whole PID
namespace); the healer forgets it in RabbitMQ once the grace passed; it is
powered on again (only its minion starts) and the healer's host_back brings
it back. The figure: seconds from the power-on to the whole stack healthy
(3 Synced, every broker running, every HAProxy backend UP, one VIP holder).
Also: power-off to forgotten, the longest gap of acknowledged commits and of
confirms over the whole run, rows and messages lost (must be 0).
"""

import time

import amqp_load
import commit_load
from common import client_losses, healing, log, summary, wait_for

ORDER = 80
CHEAP = False
UNIT = "s"
TITLE = "heal_host_poweroff: power-on of a lost host to the whole stack healthy (auto-heal, host_grace 30 s)"
DATABASE = "hastack_bench"
QUEUE = "hastack_bench_heal"


def forgotten(lab, victim):
    view = lab.salt(lab.hosts[0], "hastack_rabbitmq.status", "-t", "30").get(lab.hosts[0])
    return isinstance(view, dict) and f"rabbit@{victim}" not in (view.get("members") or [])


def one_run(lab):
    victim = lab.hosts[-1]
    wait_for(lambda: not lab.stack_problems(), 600, "the whole stack healthy", interval=5)
    writer = commit_load.CommitLoad(lab, DATABASE, interval=0.05, max_seconds=1800)
    publisher = amqp_load.ConfirmedPublisher(lab, QUEUE, interval=0.1, max_seconds=1800)
    writer.start()
    publisher.start()
    try:
        writer.wait_for_acks(20, timeout=60)
        publisher.wait_for_confirms(10, timeout=60)
        moment = time.monotonic()
        lab.poweroff(victim)
        forgot, _ = wait_for(lambda: forgotten(lab, victim), 600, f"{victim} forgotten", interval=2)
        lab.poweron(victim)
        on = time.monotonic()
        wait_for(lambda: not lab.stack_problems(), 900, "the whole stack healthy", interval=2)
        healed = round(time.monotonic() - on, 1)
        writer.wait_for_acks(len(writer.acks) + 20, timeout=120)
        publisher.wait_for_confirms(len(publisher.confirms) + 10, timeout=120)
    finally:
        writer.stop()
        publisher.stop()
    lost_rows, lost_msgs, gap, confirm_gap = client_losses(lab, writer, publisher, DATABASE, QUEUE, moment)
    log(f"[heal_host_poweroff] {victim}: forgotten {forgot:.1f}s after the power-off, healed {healed}s after "
        f"the power-on; longest commit gap {gap}s, confirm gap {confirm_gap}s; lost {lost_rows} rows, "
        f"{lost_msgs} messages")
    return healed, round(forgot, 1), gap, confirm_gap, lost_rows + lost_msgs


def run(lab, runs):
    commit_load.prepare_probe_database(lab, lab.hosts[0], DATABASE)
    healed, forgot, gaps, confirm_gaps, lost = [], [], [], [], []
    with healing(lab, {"host_grace": 30}):
        for _ in range(runs):
            h, f, g, c, lo = one_run(lab)
            healed.append(h)
            forgot.append(f)
            gaps.append(g)
            confirm_gaps.append(c)
            lost.append(lo)
    return {"runs": healed, "poweroff_to_forgotten_s": dict(runs=forgot, **summary(forgot)),
            "longest_commit_gap_s": dict(runs=gaps, **summary(gaps)),
            "longest_confirm_gap_s": dict(runs=confirm_gaps, **summary(confirm_gaps)), "lost": lost,
            "peer": None,
            "peer_note": "no peer default to set side by side: kolla-ansible and openstack-ansible bring a "
                         "returned host back by an operator's playbook run, not by themselves"}
