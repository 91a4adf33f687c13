"""Cluster-wide chaos healed without a human: every Galera server killed at
once, the VIP holder's HAProxy and keepalived killed, the salt master
restarted in the middle of a heal.

Tests run in file order on the session lab with healing on (fixture
`healing`) under client load (fixture `load`: every acknowledged row and
confirmed message is counted at the end of the module). Each leaves the whole
stack healthy. The master restart comes last: it restarts the event bus the
module's event log listens to.
"""

import concurrent.futures
import json
import os
import time

from lab_checks import RABBIT_PIDFILE, galera_synced, heals, pids_of, rabbit_running, wsrep

from hastack_lab.lab import vip_holders, wait_until


# ---------------------------------------------------------------- helpers
def pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError):
        return True
    return True


def one_vip_holder(lab, seconds=10):
    """Exactly one host holds the VIP, and keeps holding it for `seconds`."""
    first = vip_holders(lab)
    if len(first) != 1:
        return False
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if vip_holders(lab) != first:
            return False
        time.sleep(1)
    return True


# ---------------------------------------------------------------- scenarios
def test_every_mariadbd_killed_at_once_comes_back_primary(lab, healing, load, heal_times):
    assert galera_synced(lab)
    uuid = wsrep(lab, lab.hosts[0])["wsrep_cluster_state_uuid"]
    acked = len(load.writer.acked())
    killed, killed_mono = time.time(), time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(lab.hosts)) as pool:
        list(pool.map(lambda host: lab.crash(host, "mysqld_safe", "mariadbd"), lab.hosts))
    assert not [h for h in lab.hosts if pids_of(lab, h, "mariadbd")]
    wait_until(lambda: galera_synced(lab), 600, 2, "three Synced Galera members in one Primary Component")
    heal_times["galera: all three mariadbd killed"] = time.time() - killed

    _, _, done = healing.wait("hastack/heal/galera/done", 180, since=killed, match={"action": "galera_outage"})
    outage = {hid: phases for hid, phases in heals(healing, "galera", killed).items()
              if any(p.get("action") == "galera_outage" for p in phases.values())}
    # pc.recovery (stage start) or one safe recovery (stage recover): never two bootstraps.
    recoveries = [hid for hid, phases in outage.items() if phases.get("start", {}).get("stage") == "recover"]
    assert len(recoveries) <= 1, outage
    assert not healing.events("hastack/heal/galera/gave_up", killed)
    assert not [e for e in healing.events("hastack/heal/galera/failed", killed)
                if e[2].get("action") == "restart_service"], "a member's restart was tried during the outage"
    # The same cluster history: nothing was rebuilt from an empty node.
    assert all(wsrep(lab, h)["wsrep_cluster_state_uuid"] == uuid for h in lab.hosts)
    # The writer gets new acknowledgements through the VIP.
    load.writer.wait_for_acks(acked + 20, 180)
    load.still_working()
    gap = load.writer.longest_gap(after=killed_mono)
    assert gap is not None
    heal_times["galera full outage: longest commit gap"] = gap
    print(f"galera full outage healed by {done['stage']} ({len(recoveries)} safe recovery)")


def test_vip_holder_losing_haproxy_and_keepalived(lab, healing, load, heal_times):
    assert one_vip_holder(lab, 2)
    old = vip_holders(lab)[0]
    before = {name: pids_of(lab, old, name) for name in ("haproxy", "keepalived")}
    assert all(before.values()), before
    killed = time.time()
    lab.crash(old, "haproxy", "keepalived")
    # keepalived killed -9 leaves the address on the old holder's interface (it
    # removes it when it starts again): another host taking it is the failover.
    wait_until(lambda: [h for h in vip_holders(lab) if h != old], 120, 0.2, "another host to take the VIP")
    heal_times["lb: VIP moved off the killed holder"] = time.time() - killed

    def back():
        return all(pids_of(lab, old, name) for name in ("haproxy", "keepalived"))
    wait_until(back, 300, 1, f"haproxy and keepalived restarted on {old}")
    for cluster, service in (("haproxy", "haproxy"), ("keepalived", "keepalived")):
        healing.wait(f"hastack/heal/{cluster}/done", 180, since=killed, match={"target": old, "service": service})
    heal_times["lb: haproxy+keepalived killed on the VIP holder"] = time.time() - killed
    wait_until(lambda: one_vip_holder(lab), 120, 1, "exactly one VIP holder")
    load.still_working()


def test_master_restarted_in_the_middle_of_a_heal(lab, healing, load, heal_times):
    assert rabbit_running(lab) == 3
    pid = lab.exec("ctl2", ["cat", RABBIT_PIDFILE]).stdout.strip()
    killed = time.time()
    lab.exec("ctl2", ["kill", "-9", pid])
    _, _, started = healing.wait("hastack/heal/rabbitmq/start", 120, since=killed, match={"target": "ctl2"})
    # Its orchestration is under way: restart the master under it.
    restarted = time.time()
    down = lab.exec("ctl2", ["pgrep", "-f", "beam.smp"], check=False).returncode != 0
    lab.restart_master()
    healing.relisten()
    wait_until(lambda: rabbit_running(lab, "ctl1") == 3 and rabbit_running(lab, "ctl2") == 3, 300, 2,
               "three running RabbitMQ nodes")
    heal_times["rabbitmq with a master restart mid-heal"] = time.time() - killed
    # The interrupted heal is closed: done, or interrupted and taken over by a new heal that is done.
    _, _, done = healing.wait("hastack/heal/rabbitmq/done", 180, since=restarted, match={"target": "ctl2"})
    # No lock file is left to a process that died with the old master (read before
    # hastack_heal.status, which drops stale ones itself).
    locks = lab.master_cache_dir / "hastack_heal" / "locks"
    stale = [f.name for f in locks.glob("*.json") if not pid_alive(json.loads(f.read_text()).get("pid"))]
    assert not stale, stale
    status = lab.salt_run("hastack_heal.status", "count=100")
    assert "rabbitmq" not in status["locks"], status["locks"]
    ends = [e for e in status["recent"] if e.get("heal_id") == started["heal_id"] and e.get("finished")]
    assert ends and ends[-1]["phase"] in ("done", "interrupted"), ends
    if ends[-1]["phase"] == "interrupted":
        assert done["heal_id"] != started["heal_id"]
    print(f"master restarted {restarted - killed:.1f} s after the kill (broker still down: {down});"
          f" the heal ended {ends[-1]['phase']}, done by {done['heal_id']}")
    load.still_working()
