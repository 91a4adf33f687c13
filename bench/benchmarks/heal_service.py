"""heal_service: a daemon killed -9 on one host, restarted by the auto-heal; time until the tier is whole.

With healing on (the lab pillar keeps it off) one daemon is killed -9 on ctl2
and nobody touches anything: the beacons or the reconciler report it, the
reactor starts orch/heal/service and the tier's states bring it back. The
figure per daemon is the time from the kill to the tier being whole again
(memcached: a new process; RabbitMQ: three running nodes seen from two
hosts; Galera: three Synced members). `runs` holds the slowest of the three
per run; each daemon's own runs are listed too.
"""

import time

from common import all_synced, healing, log, pids_of, rabbit_running_nodes, summary, wait_for

ORDER = 80
CHEAP = False
UNIT = "s"
TITLE = "heal_service: kill -9 of one daemon to its tier whole again, no human (auto-heal)"
VICTIM = "ctl2"


def heal_memcached(lab):
    old = pids_of(lab, VICTIM, "memcached")
    killed = time.monotonic()
    lab.crash(VICTIM, "memcached")
    wait_for(lambda: (new := pids_of(lab, VICTIM, "memcached")) and new != old, 300, "memcached back",
             interval=0.5)
    return time.monotonic() - killed


def heal_rabbitmq(lab):
    pid = lab.exec(VICTIM, ["cat", "/run/rabbitmq/pid"]).stdout.strip()
    killed = time.monotonic()
    lab.exec(VICTIM, ["kill", "-9", pid])
    wait_for(lambda: lab.exec(VICTIM, ["kill", "-0", pid], check=False).returncode != 0, 30, "the broker dead")
    wait_for(lambda: rabbit_running_nodes(lab, "ctl1") == 3 and rabbit_running_nodes(lab, VICTIM) == 3, 600,
             "three running RabbitMQ nodes", interval=2)
    return time.monotonic() - killed


def heal_mariadbd(lab):
    killed = time.monotonic()
    lab.crash(VICTIM, "mysqld_safe", "mariadbd")
    wait_for(lambda: all_synced(lab, 3), 600, "three Synced Galera members", interval=2)
    return time.monotonic() - killed


DAEMONS = {"memcached": heal_memcached, "rabbitmq-server": heal_rabbitmq, "mariadbd": heal_mariadbd}


def run(lab, runs):
    per = {name: [] for name in DAEMONS}
    slowest = []
    with healing(lab):
        for _ in range(runs):
            took = {}
            for name, heal in DAEMONS.items():
                took[name] = round(heal(lab), 1)
                per[name].append(took[name])
                log(f"[heal_service] {name} on {VICTIM}: whole again {took[name]}s after the kill")
            slowest.append(max(took.values()))
    return {"runs": slowest, "victim": VICTIM, **{name: dict(runs=v, **summary(v)) for name, v in per.items()},
            "peer": None,
            "peer_note": "no peer figure: kolla-ansible and openstack-ansible leave a dead daemon to the "
                         "container's or systemd's restart policy, which this lab (no systemd, no Docker) "
                         "cannot run side by side"}
