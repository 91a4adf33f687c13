"""The auto-heal when whole hosts go away: power loss and a network partition.

Tests run in file order on the session lab with healing on (fixture
`healing`) and the module's client load (fixture `load`); each ends with the
whole stack healthy (3 Synced, 3 RabbitMQ nodes running, one VIP holder).
A powered-on host starts nothing but its minion: the healer's host_back
brings its services back. Nothing is repaired by hand.
"""

import time

from lab_checks import (
    assert_no_failed_heal,
    galera_synced,
    heal_events,
    quorum_members,
    rabbit_app_running,
    rabbit_view,
    wait_whole,
    wsrep,
)

from hastack_lab.lab import vip_holders, wait_until

# A short grace so a powered-off host is declared lost within the test.
SHORT_GRACE = {"hastack": {"heal": {"enabled": True, "host_grace": 30}}}
HEAL_ON = {"hastack": {"heal": {"enabled": True}}}


# ---------------------------------------------------------------- scenarios
def test_powered_off_host_is_forgotten_then_brought_back(lab, healing, load, heal_times):
    wait_whole(lab, 900)  # whatever an earlier test left, healed first
    uuid = wsrep(lab, "ctl1")["wsrep_cluster_state_uuid"]
    lab.set_pillar_override(SHORT_GRACE)
    try:
        off = time.time()
        lab.poweroff("ctl3")
        # Forgotten by a healthy majority once the grace passed; Galera serves with two.
        # Generous: the grace, reconciler rounds that wait answer_timeout for the silent host, the orchestration.
        _, _, forgot = healing.wait("hastack/heal/rabbitmq/done", 600, since=off,
                                    match={"action": "forget_host", "target": "ctl3"})
        heal_times["poweroff ctl3 -> forgotten in RabbitMQ"] = time.time() - off
        assert forgot["duration"] >= 0
        view = rabbit_view(lab, "ctl1")
        assert view and "rabbit@ctl3" not in view["members"], view
        assert view["running"] == ["rabbit@ctl1", "rabbit@ctl2"], view
        wait_until(lambda: galera_synced(lab, ["ctl1", "ctl2"], size=2), 120, 2, "Galera serving with two")
        load.still_working()

        on = time.time()
        lab.poweron("ctl3")
        _, _, back = healing.wait("hastack/heal/hosts/done", 900, since=on,
                                  match={"action": "host_back", "target": "ctl3"})
        wait_whole(lab, 300)
        heal_times["poweron ctl3 -> healed"] = time.time() - on
        heal_times["poweroff ctl3 -> healed (whole outage)"] = time.time() - off
        assert back["duration"] > 0
    finally:
        lab.set_pillar_override(HEAL_ON)
    assert_no_failed_heal(healing, lab, "hosts", off)
    # Rejoined the same Galera history (IST, no bootstrap) and the quorum queue grew back to three.
    assert wsrep(lab, "ctl3")["wsrep_cluster_state_uuid"] == uuid
    assert not heal_events(healing, "galera", off, action="galera_outage")
    assert quorum_members(lab, "ctl1", load.queue) == ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]
    load.still_working()


def test_two_db_hosts_powered_off_no_bootstrap_then_one_cluster(lab, healing, load, heal_times):
    wait_whole(lab, 900)
    uuid = wsrep(lab, "ctl1")["wsrep_cluster_state_uuid"]
    lab.set_pillar_override(SHORT_GRACE)
    try:
        off = time.time()
        lab.poweroff("ctl2", "ctl3")
        # The survivor is a minority: the healer refuses to bootstrap it and says why.
        _, _, refused = healing.wait("hastack/heal/galera/refused", 600, since=off,
                                     match={"action": "galera_outage"})
        assert "no bootstrap" in refused["reason"] and "ctl2, ctl3" in refused["reason"], refused
        # Both declared lost (their return is then a host_back); RabbitMQ forgets neither from a minority.
        for host in ("ctl2", "ctl3"):
            healing.wait(f"hastack/heal/reconcile/host_lost/{host}", 600, since=off)
        assert wsrep(lab, "ctl1").get("wsrep_cluster_status") != "Primary"
        assert not heal_events(healing, "galera", off, phase="start", action="galera_outage")
        assert not heal_events(healing, "rabbitmq", off, phase="done", action="forget_host")

        on = time.time()
        lab.poweron("ctl2", "ctl3")
        # One host comes back at a time: the other's host_back, refused while
        # the first runs, is fired again by the reconciler.
        for host in ("ctl2", "ctl3"):
            healing.wait("hastack/heal/hosts/done", 900, since=on, match={"action": "host_back", "target": host})
        both_back = time.time()
        wait_whole(lab, 600)
        heal_times["poweron ctl2+ctl3 -> healed"] = time.time() - on
        # Their beacons reported every service down at boot: those heals waited for host_back.
        early = [(tag, data) for arrival, tag, data in healing.events("hastack/heal/", on)
                 if tag.endswith("/start") and data.get("action") == "restart_service"
                 and data.get("target") in ("ctl2", "ctl3") and arrival < both_back]
        assert not early, early
        heal_times["poweroff ctl2+ctl3 -> healed (whole outage)"] = time.time() - off
    finally:
        lab.set_pillar_override(HEAL_ON)
    # One cluster, the same history on every host. Once both answered, the
    # outage heal may start MariaDB everywhere (pc.recovery restores the
    # Primary Component); it never bootstrapped (its recover stage).
    assert {wsrep(lab, host)["wsrep_cluster_state_uuid"] for host in lab.hosts} == {uuid}
    assert not heal_events(healing, "galera", off, phase="start", action="galera_outage", stage="recover")
    assert not heal_events(healing, "rabbitmq", off, phase="done", action="forget_host")
    # Refusals are not failures (they would count towards gave_up); each host came back at its first turn.
    assert_no_failed_heal(healing, lab, "rabbitmq", off)
    assert_no_failed_heal(healing, lab, "hosts", off)
    load.still_working()


def test_link_cut_keeps_one_primary_and_forgets_nothing(lab, healing, load, heal_times):
    # The default grace (longer than the cut): nobody is declared lost.
    wait_whole(lab, 900)
    samples, paused = [], []
    cut = time.time()
    lab.set_link("ctl3", False)
    try:
        while time.time() - cut < 30:
            statuses = {host: wsrep(lab, host) for host in lab.hosts}
            primary = {host: int(s.get("wsrep_cluster_size", 0)) for host, s in statuses.items()
                       if s.get("wsrep_cluster_status") == "Primary"}
            holders = vip_holders(lab)
            samples.append((round(time.time() - cut, 1), primary, holders))
            # A Primary Component is always a majority of the three: never ctl3 on its own.
            assert all(size >= 2 for size in primary.values()), samples[-1]
            assert len(holders) <= 1, f"VIP held by {holders}"
            if time.time() - cut > 15:
                assert "ctl3" not in primary, samples[-1]
                assert set(primary) == {"ctl1", "ctl2"}, samples[-1]
            if not paused and not rabbit_app_running(lab, "ctl3"):
                paused.append(time.time() - cut)
            time.sleep(1)
    finally:
        lab.set_link("ctl3", True)
    back = time.time()
    assert paused, "the cut-off RabbitMQ node was never paused (pause_minority)"
    assert rabbit_app_running(lab, "ctl1") and rabbit_app_running(lab, "ctl2")
    wait_until(lambda: rabbit_app_running(lab, "ctl3"), 120, 2, "the paused RabbitMQ node to resume")
    wait_whole(lab, 300)
    heal_times["link cut 30 s: link back -> healed"] = time.time() - back
    heal_times["link cut: ctl3 paused after"] = paused[0]
    # Nothing forgotten, nobody declared lost, no outage heal.
    view = rabbit_view(lab, "ctl1")
    assert view and view["members"] == ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"], view
    assert not healing.events("hastack/heal/reconcile/host_lost/", cut)
    assert not heal_events(healing, "rabbitmq", cut, action="forget_host")
    assert not heal_events(healing, "hosts", cut)
    assert quorum_members(lab, "ctl1", load.queue) == ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]
    load.still_working()
