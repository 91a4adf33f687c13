"""The auto-heal when a whole host goes away: a power loss past the grace.

Runs on the session lab with healing on (fixture `healing`) and the module's
client load (fixture `load`); it ends with the whole stack healthy (3 Synced,
3 RabbitMQ nodes running, one VIP holder). A powered-on host starts nothing
but its minion: the healer's host_back brings its services back. Nothing is
repaired by hand.
"""

import time

from lab_checks import galera_synced, heal_events, quorum_members, rabbit_view, wait_whole, wsrep

from hastack_lab.lab import wait_until

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
    assert not heal_events(healing, "hosts", off, phase="failed")
    # Rejoined the same Galera history (IST, no bootstrap) and the quorum queue grew back to three.
    assert wsrep(lab, "ctl3")["wsrep_cluster_state_uuid"] == uuid
    assert not heal_events(healing, "galera", off, action="galera_outage")
    assert quorum_members(lab, "ctl1", load.queue) == ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]
    load.still_working()
