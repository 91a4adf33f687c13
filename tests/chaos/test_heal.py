"""The auto-heal end to end: a service killed with SIGKILL comes back without
a human, maintenance and the switch stop it, a flapping service is given up.

Tests run in file order on the session lab with healing on (fixture
`healing`); each leaves every service running. Writers commit through the VIP
wherever Galera is touched, and every acknowledged row must survive.
"""

import itertools
import os
import pathlib
import time

from keystone_load import ADMIN_SECRET, TokenLoad, get, issue_token, keystone_url
from lab_checks import RABBIT_PIDFILE, galera_synced, heals, keystone_pids, pids_of, rabbit_running, wsrep

from hastack_lab.lab import wait_until


# ---------------------------------------------------------------- helpers
def wait_memcached_back(lab, host, old, timeout=180):
    """The first new memcached pids seen on host (the heal's state may restart it once more)."""
    seen = []

    def back():
        seen[:] = pids_of(lab, host, "memcached")
        return bool(seen) and seen != old
    wait_until(back, timeout, 0.5, f"memcached on {host} to be restarted")
    return list(seen)


def master_cpu_ticks(lab):
    """utime + stime, in clock ticks, of every salt-master process (the reconciler engine included)."""
    total = 0
    for pid in lab._master_pids():
        try:
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


# ---------------------------------------------------------------- scenarios
def test_killed_memcached_is_restarted_by_the_healer(lab, healing, load, heal_times):
    old = pids_of(lab, "ctl2", "memcached")
    assert old
    killed = time.time()
    lab.crash("ctl2", "memcached")
    new = wait_memcached_back(lab, "ctl2", old)
    heal_times["memcached"] = time.time() - killed
    _, _, done = healing.wait("hastack/heal/memcached/done", 120, since=killed,
                              match={"target": "ctl2", "service": "memcached"})
    assert done["action"] == "restart_service"
    assert new and new != old
    recent = lab.salt_run("hastack_heal.status")["recent"]
    assert any(e.get("heal_id") == done["heal_id"] and e.get("phase") == "done" for e in recent)


def test_killed_keystone_is_restarted_and_no_request_through_the_vip_fails(lab, healing, heal_times):
    host = "ctl2"
    old = keystone_pids(lab, host)
    assert old
    tokens = TokenLoad(lab, interval=0.05, max_seconds=300)
    tokens.start()
    try:
        tokens.wait_for_tokens(10)
        killed = time.time()
        # Master and workers at once, requests in flight included.
        lab.exec(host, ["kill", "-9", *old])
        _, _, done = healing.wait("hastack/heal/keystone/done", 240, since=killed,
                                  match={"target": host, "service": "keystone"})
        wait_until(lambda: bool(keystone_pids(lab, host)), 60, 0.5, f"keystone on {host} to run again")
        heal_times["keystone"] = time.time() - killed
        issued = len(tokens.issued)
        tokens.wait_for_tokens(issued + 10)
    finally:
        tokens.stop()
    print(f"[heal] keystone: {len(tokens.issued)} tokens, {len(tokens.failures)} failed, "
          f"longest gap {tokens.longest_gap()} s")
    assert done["action"] == "restart_service"
    assert not set(keystone_pids(lab, host)) & set(old)
    # HAProxy resends what the dead server never answered (retry-on).
    assert tokens.failures == []


def test_killed_nova_conductor_is_restarted_and_the_compute_api_keeps_answering(lab, healing, heal_times):
    host = "ctl3"
    old = pids_of(lab, host, "nova-conductor")
    assert old
    token = issue_token(keystone_url(lab), lab.secret(ADMIN_SECRET))[0]
    killed = time.time()
    lab.exec(host, ["kill", "-9", *old])
    _, _, done = healing.wait("hastack/heal/nova/done", 240, since=killed,
                              match={"target": host, "service": "nova-conductor"})
    wait_until(lambda: bool(pids_of(lab, host, "nova-conductor")), 60, 0.5, f"nova-conductor on {host} to run again")
    heal_times["nova-conductor"] = time.time() - killed
    assert done["action"] == "restart_service"
    assert not set(pids_of(lab, host, "nova-conductor")) & set(old)
    # The restarted conductor reports in again (nova's service list, through the VIP).
    wait_until(lambda: conductor_state(lab, token, host) == "up", 120, 3, f"nova-conductor on {host} up")


def conductor_state(lab, token, host):
    services = get(f"http://{lab.vip}:8774/v2.1", token, "/os-services?binary=nova-conductor")["services"]
    return next((s["state"] for s in services if s["host"] == host), None)


def test_master_idle_cpu_with_the_reconciler(lab, healing, heal_times):
    start, ticks = time.monotonic(), master_cpu_ticks(lab)
    time.sleep(30)
    spent = (master_cpu_ticks(lab) - ticks) / os.sysconf("SC_CLK_TCK")
    share = spent / (time.monotonic() - start)
    heal_times["master idle CPU (share of one core)"] = share
    assert not healing.events("hastack/heal/reconcile/", time.time() - 30), "the reconciler saw a failure at rest"
    assert share < 0.5, f"the idle master used {share:.0%} of a core"


def test_killed_rabbitmq_broker_rejoins(lab, healing, load, heal_times):
    assert rabbit_running(lab) == 3
    pid = lab.exec("ctl2", ["cat", RABBIT_PIDFILE]).stdout.strip()
    killed = time.time()
    lab.exec("ctl2", ["kill", "-9", pid])
    wait_until(lambda: lab.exec("ctl2", ["kill", "-0", pid], check=False).returncode != 0, 30, 0.2,
               "the broker to die")
    wait_until(lambda: rabbit_running(lab, "ctl1") == 3 and rabbit_running(lab, "ctl2") == 3, 300, 2,
               "three running RabbitMQ nodes")
    heal_times["rabbitmq"] = time.time() - killed
    _, _, done = healing.wait("hastack/heal/rabbitmq/done", 120, since=killed, match={"target": "ctl2"})
    assert done["service"] == "rabbitmq-server"


def test_killed_mariadbd_rejoins_without_bootstrap(lab, healing, load, heal_times):
    assert galera_synced(lab)
    uuid = wsrep(lab, "ctl1")["wsrep_cluster_state_uuid"]
    killed = time.time()
    lab.crash("ctl3", "mysqld_safe", "mariadbd")
    wait_until(lambda: galera_synced(lab), 420, 2, "three Synced Galera members")
    heal_times["galera"] = time.time() - killed
    _, _, done = healing.wait("hastack/heal/galera/done", 120, since=killed,
                              match={"target": "ctl3", "action": "restart_service"})
    assert done["service"] in ("mariadb", "hastack-galera-health")
    # Rejoined the same cluster history: no bootstrap, no cluster-wide recovery.
    assert wsrep(lab, "ctl3")["wsrep_cluster_state_uuid"] == uuid
    assert not [d for d in heals(healing, "galera", killed).values()
                if any(p.get("action") == "galera_outage" for p in d.values())]
    load.still_working()



def test_maintenance_and_the_switch_leave_a_killed_service_down(lab, healing, heal_switch):
    # A host under maintenance: its killed service stays down, the refusal is said once.
    lab.salt_run("hastack_heal.maintenance", "ctl1", "on")
    try:
        since = time.time()
        lab.crash("ctl1", "memcached")
        healing.wait("hastack/heal/memcached/refused", 90, since=since, match={"target": "ctl1"})
        time.sleep(22)  # two more reconciler rounds (every heal:reconcile_interval, 10 s)
        assert not pids_of(lab, "ctl1", "memcached")
        assert not [e for e in healing.events("hastack/heal/memcached/start", since) if e[2]["target"] == "ctl1"]
        assert len([e for e in healing.events("hastack/heal/memcached/refused", since)
                    if e[2]["target"] == "ctl1"]) == 1
    finally:
        lab.salt_run("hastack_heal.maintenance", "ctl1", "off")
    back = time.time()
    wait_memcached_back(lab, "ctl1", [])
    healing.wait("hastack/heal/memcached/done", 60, since=back, match={"target": "ctl1"})

    # Healing switched off (the lab pillar's default): nothing happens at all.
    heal_switch(False)
    try:
        since = time.time()
        lab.crash("ctl1", "memcached")
        time.sleep(25)  # the service beacon's delay and two reconciler rounds
        assert not pids_of(lab, "ctl1", "memcached")
        assert not healing.events("hastack/heal/memcached/start", since)
        assert not healing.events("hastack/heal/reconcile/", since), "the reconciler reported while off"
    finally:
        heal_switch(True)
    wait_memcached_back(lab, "ctl1", [])


def test_a_flapping_service_gets_one_heal_at_a_time_then_is_given_up(lab, healing, heal_times):
    since = time.time()
    kills = []
    gave_up = []

    def flap():
        gave_up[:] = healing.events("hastack/heal/memcached/gave_up", since)
        if gave_up:
            return True
        if len(kills) < 5 and pids_of(lab, "ctl3", "memcached") and (not kills or time.time() - kills[-1] > 3):
            lab.crash("ctl3", "memcached")
            kills.append(time.time())
        return False
    try:
        wait_until(flap, 300, 1.0, "the healer to give memcached on ctl3 up")
        heal_times["flapping: first kill -> gave_up"] = gave_up[0][0] - kills[0]
        assert len(kills) <= 5
        assert gave_up[0][2]["target"] == "ctl3"
        # One heal in flight at a time: each started after the one before it ended. (Only
        # ctl3's: a heal an earlier test left, e.g. on a host out of maintenance, may end here.)
        runs = sorted((d["start"]["started"], d["done"]["started"] + d["done"]["duration"])
                      for d in heals(healing, "memcached", since).values()
                      if "start" in d and "done" in d and d["start"].get("target") == "ctl3")
        assert len(runs) == 3, runs
        assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(runs)), runs
        # Given up: it stays down, quietly (two more reconciler rounds).
        time.sleep(22)
        assert not pids_of(lab, "ctl3", "memcached")
        assert len(healing.events("hastack/heal/memcached/gave_up", since)) == 1
    finally:
        # An operator resets the backoff: healed again (also after a failed check above,
        # so the tests after this one find memcached running).
        reset = time.time()
        lab.salt_run("hastack_heal.reset", "memcached")
        wait_memcached_back(lab, "ctl3", [])
    healing.wait("hastack/heal/memcached/done", 60, since=reset, match={"target": "ctl3"})
