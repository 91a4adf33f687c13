"""
The auto-heal's decisions (_runners/hastack_heal.py), table-tested without
Salt: which heal an event asks for, whether it may run, the lock, the
reconciler's comparison, whether a RabbitMQ node may be forgotten.
"""

import importlib.util
import os
import pathlib
import subprocess
import time

import pytest
import salt.utils.yaml
from saltmod_loader import load_salt_module

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def heal():
    return load_salt_module("_runners", "hastack_heal")


@pytest.fixture(scope="module")
def view():
    """cluster_view of the converged layout, as the orchestrations see it."""
    mod = load_salt_module("_modules", "hastack")
    defaults, tiers, family = mod.read_layers(REPO / "hastack")
    roles = {r: ["ctl1", "ctl2", "ctl3"] for r in ("lb", "db", "mq", "cache")}
    config = mod.merge_config(defaults, {"roles": roles}, family, tiers)
    return mod.derive(config, "master_master")


def test_fallback_settings_are_the_defaults_file(heal):
    doc = salt.utils.yaml.safe_load((REPO / "hastack/parameters/defaults.yaml").read_text())
    wanted = {k: v for k, v in doc["values"]["heal"].items() if k in heal.FALLBACK}
    assert wanted == heal.FALLBACK
    hastack = load_salt_module("_modules", "hastack")
    assert hastack.HEAL_DEFAULTS == doc["values"]["heal"]


SVC = "salt/beacon/ctl2/service/"


@pytest.mark.parametrize("tag, data, want", [
    # service beacon: only a stop is a heal; onchangeonly fires for both transitions
    (SVC + "memcached", {"memcached": {"running": False}, "service_name": "memcached"},
     {"cluster": "memcached", "action": "restart_service", "target": "ctl2", "service": "memcached",
      "sls": "hastack.memcached.service", "drain": False, "health": ""}),
    (SVC + "mariadb", {"mariadb": {"running": False}},
     {"cluster": "galera", "action": "restart_service", "target": "ctl2", "service": "mariadb",
      "sls": "hastack.galera.service", "drain": True, "health": "hastack_galera.is_synced"}),
    (SVC + "memcached", {"memcached": {"running": True}}, None),
    (SVC + "memcached", {}, None),
    (SVC + "sshd", {"sshd": {"running": False}}, None),
    # a service the host's roles do not give it
    ("salt/beacon/ctl9/service/memcached", {"memcached": {"running": False}}, None),
    # Galera beacon: only a lost Primary Component is a cluster heal
    ("salt/beacon/ctl1/hastack_galera/non-primary", {}, {"cluster": "galera", "action": "galera_outage",
                                                         "stage": "start"}),
    ("salt/beacon/ctl1/hastack_galera/synced", {}, None),
    ("salt/beacon/ctl1/hastack_galera/down", {}, None),
    # RabbitMQ beacon: pause_minority heals partitions itself
    ("salt/beacon/ctl1/hastack_rabbitmq/paused", {}, None),
    ("salt/beacon/ctl1/hastack_rabbitmq/partitioned", {}, None),
    # ... but its broker process gone is a service heal (it watches it for the service beacon)
    ("salt/beacon/ctl1/hastack_rabbitmq/stopped", {"service_name": "rabbitmq-server"},
     {"cluster": "rabbitmq", "action": "restart_service", "target": "ctl1", "service": "rabbitmq-server",
      "sls": "hastack.rabbitmq.service", "drain": False, "health": "hastack_rabbitmq.is_healthy"}),
    ("salt/beacon/ctl1/hastack_rabbitmq/stopped", {}, None),
    ("salt/beacon/ctl9/hastack_rabbitmq/stopped", {"service_name": "rabbitmq-server"}, None),
    # a host came back
    # a minion (re)start alone is no heal (it follows every master restart)
    ("salt/minion/ctl3/start", {}, None),
    ("salt/minion/master_master/start", {}, None),
    # the reconciler
    ("hastack/heal/reconcile/service_down/ctl1/haproxy", {"kind": "service_down", "minion": "ctl1",
                                                          "service": "haproxy"},
     {"cluster": "haproxy", "action": "restart_service", "target": "ctl1", "service": "haproxy"}),
    ("hastack/heal/reconcile/galera_no_primary/recover", {"kind": "galera_no_primary", "stage": "recover"},
     {"cluster": "galera", "action": "galera_outage", "stage": "recover"}),
    ("hastack/heal/reconcile/host_lost/ctl3", {"kind": "host_lost", "minion": "ctl3"},
     {"cluster": "rabbitmq", "action": "forget_host", "target": "ctl3"}),
    ("hastack/heal/reconcile/host_back/ctl3", {"kind": "host_back", "minion": "ctl3"},
     {"cluster": "hosts", "action": "host_back", "target": "ctl3"}),
    ("hastack/heal/reconcile/what/ctl3", {"kind": "what"}, None),
    ("salt/job/123/ret/ctl1", {}, None),
])
def test_classify(heal, view, tag, data, want):
    action, reason = heal.classify(tag, data, view)
    assert reason
    if want is None:
        assert action is None
    else:
        assert action is not None, reason
        assert {k: action.get(k) for k in want} == want


def test_host_lost_without_mq_role_needs_no_forget(heal, view):
    small = dict(view, roles=dict(view["roles"], mq=["ctl1", "ctl2"]))
    action, reason = heal.classify("hastack/heal/reconcile/host_lost/ctl3",
                                   {"kind": "host_lost", "minion": "ctl3"}, small)
    assert action is None and "no RabbitMQ" in reason


SETTINGS = {"enabled": True, "dedupe_window": 60, "backoff": {"max_failures": 3, "window": 1800}}
ACTION = {"cluster": "memcached", "action": "restart_service", "target": "ctl2", "service": "memcached",
          "reason": "down"}
KEY = "memcached:restart_service:ctl2:memcached"
NOW = 100000.0


def failed(n, ago=10, cluster="memcached"):
    return [{"key": f"{cluster}:x:{i}:", "cluster": cluster, "phase": "failed", "finished": NOW - ago}
            for i in range(n)]


@pytest.mark.parametrize("settings, maintenance, history, locks, verdict, words", [
    (SETTINGS, {}, [], {}, "run", "down"),
    (dict(SETTINGS, enabled=False), {}, [], {}, "refused", "switched off"),
    (SETTINGS, {"hosts": ["ctl2"]}, [], {}, "refused", "host ctl2 is under maintenance"),
    (SETTINGS, {"clusters": ["memcached"]}, [], {}, "refused", "cluster memcached is under maintenance"),
    (SETTINGS, {"hosts": ["ctl1"], "clusters": ["galera"]}, [], {}, "run", ""),
    # the same failure, reported again while its heal runs or just after
    (SETTINGS, {}, [], {"memcached": {"key": KEY, "heal_id": "h1"}}, "duplicate", "runs already"),
    (SETTINGS, {}, [{"key": KEY, "phase": "done", "finished": NOW - 30}], {}, "duplicate", "done 30 s ago"),
    (SETTINGS, {}, [{"key": KEY, "phase": "done", "finished": NOW - 61}], {}, "run", ""),
    # the host is being brought back: its service heals wait
    (SETTINGS, {}, [], {"hosts": {"key": "hosts:host_back:ctl2:", "action": "host_back", "target": "ctl2"}},
     "duplicate", "being brought back"),
    (SETTINGS, {}, [], {"hosts": {"key": "hosts:host_back:ctl3:", "action": "host_back", "target": "ctl3"}},
     "run", ""),
    # another heal of the same cluster
    (SETTINGS, {}, [], {"memcached": {"key": "memcached:restart_service:ctl1:memcached", "action": "restart_service",
                                      "target": "ctl1", "heal_id": "h2"}}, "refused", "busy"),
    # backoff
    (SETTINGS, {}, failed(2), {}, "run", ""),
    (SETTINGS, {}, failed(3), {}, "gave_up", "3 failed heals of memcached"),
    (SETTINGS, {}, failed(3, ago=1801), {}, "run", ""),
    (SETTINGS, {}, failed(3, cluster="galera"), {}, "run", ""),
])
def test_admit(heal, settings, maintenance, history, locks, verdict, words):
    got, reason = heal.admit(ACTION, NOW, settings, maintenance, history, locks)
    assert (got, words in reason) == (verdict, True), reason


def done(n, ago=10, phase="done"):
    return [{"key": KEY, "cluster": "memcached", "phase": phase, "finished": NOW - ago - i} for i in range(n)]


RESET = [{"cluster": "memcached", "phase": "reset", "key": "", "finished": NOW - 5}]


@pytest.mark.parametrize("history, locks, observed, verdict, words", [
    # seen before the last heal of it finished: that heal covered it
    (done(1, ago=5), {}, NOW - 8, "duplicate", "seen then was done"),
    # seen after it finished: a new failure, healed again (no dedupe window then)
    (done(1, ago=5), {}, NOW - 1, "run", ""),
    (done(1, ago=5, phase="failed"), {}, NOW - 8, "duplicate", "seen then was failed"),
    # in flight: always a duplicate
    ([], {"memcached": {"key": KEY, "heal_id": "h1"}}, NOW, "duplicate", "runs already"),
    # flapping: the same failure healed max_heals times within the window
    (done(2, ago=5), {}, NOW, "run", ""),
    (done(3, ago=5), {}, NOW, "gave_up", "3 heals of the same failure"),
    (done(3, ago=1801), {}, NOW, "run", ""),
    # given up already: later reports stay quiet
    (done(3, ago=60) + done(1, ago=30, phase="gave_up"), {}, NOW, "duplicate", "given up"),
    # an operator reset forgets the heals and failures before it
    (done(3, ago=60) + done(1, ago=30, phase="gave_up") + RESET, {}, NOW, "run", ""),
    (failed(3) + RESET, {}, NOW, "run", ""),
])
def test_admit_observed_and_flapping(heal, history, locks, observed, verdict, words):
    settings = dict(SETTINGS, backoff={"max_failures": 3, "max_heals": 3, "window": 1800})
    got, reason = heal.admit(ACTION, NOW, settings, {}, history, locks, observed=observed)
    assert (got, words in reason) == (verdict, True), reason


MAINT = "host ctl2 is under maintenance"


@pytest.mark.parametrize("history, verdict, words", [
    ([], "refused", MAINT),
    # the same refusal again within the dedupe window: quiet
    ([{"key": KEY, "cluster": "memcached", "phase": "refused", "reason": MAINT, "finished": NOW - 10}],
     "duplicate", "refused 10 s ago"),
    ([{"key": KEY, "cluster": "memcached", "phase": "refused", "reason": MAINT, "finished": NOW - 61}],
     "refused", MAINT),
    ([{"key": KEY, "cluster": "memcached", "phase": "refused", "reason": "other", "finished": NOW - 10}],
     "refused", MAINT),
])
def test_repeated_refusals_are_said_once_per_window(heal, history, verdict, words):
    got, reason = heal.admit(ACTION, NOW, SETTINGS, {"hosts": ["ctl2"]}, history, {}, observed=NOW)
    assert (got, words in reason) == (verdict, True), reason


OUTAGE = {"cluster": "galera", "action": "galera_outage", "target": "galera", "service": "", "stage": "recover",
          "reason": "no Primary"}


@pytest.mark.parametrize("silent, history, verdict, words", [
    # every db host answers: the outage heal may act
    ([], [], "run", ""),
    # a db host that does not answer may run a Primary Component or hold the newest commits
    (["ctl3"], [], "refused", "ctl3 does not answer"),
    (["ctl2", "ctl3"], [], "refused", "no bootstrap: db hosts ctl2, ctl3 do not answer"),
    # said once per dedupe window
    (["ctl2", "ctl3"], [{"key": "galera:galera_outage:galera::recover", "cluster": "galera", "phase": "refused",
                         "reason": "no bootstrap: db hosts ctl2, ctl3 do not answer; bootstrapping the answering"
                                   " minority could make a second Primary Component or lose commits, so the"
                                   " healer waits for them to come back", "finished": NOW - 10}],
     "duplicate", "refused 10 s ago"),
])
def test_galera_outage_refused_while_a_db_host_is_silent(heal, silent, history, verdict, words):
    got, reason = heal.admit(dict(OUTAGE, silent=silent), NOW, SETTINGS, {}, history, {}, observed=NOW)
    assert (got, words in reason) == (verdict, True), reason


def test_reconciler_outage_carries_the_silent_db_hosts(heal, view):
    action, _ = heal.classify("hastack/heal/reconcile/galera_no_primary/start",
                              {"kind": "galera_no_primary", "stage": "start", "silent": ["ctl3", "ctl2"]}, view)
    assert action["silent"] == ["ctl2", "ctl3"]
    assert heal.outage_refusal(action).startswith("no bootstrap: db hosts ctl2, ctl3")
    # other heals never carry a Galera refusal
    assert heal.outage_refusal(dict(ACTION, silent=["ctl3"])) == ""


BACK = {"cluster": "hosts", "action": "host_back", "target": "ctl3", "service": "", "reason": "back"}


@pytest.mark.parametrize("action, lost, verdict", [
    # a powered-on host's beacons: its services wait for its host_back
    (dict(ACTION, target="ctl3"), ["ctl3"], "duplicate"),
    (ACTION, ["ctl3"], "run"),
    # forgetting the lost host and bringing it back are what must run
    ({"cluster": "rabbitmq", "action": "forget_host", "target": "ctl3", "service": "", "reason": "silent"},
     ["ctl3"], "run"),
    (BACK, ["ctl3"], "run"),
])
def test_service_heals_of_a_lost_host_wait_for_its_return(heal, action, lost, verdict):
    got, reason = heal.admit(action, NOW, SETTINGS, {}, [], {}, observed=NOW, lost=lost)
    assert got == verdict, reason


def test_a_returning_host_stays_lost_until_its_host_back_is_done(heal, view):
    retry = heal.settings_of(view)["host_back_retry"]
    answers = {m: ok_answer(heal.wanted_services(view, m)) for m in ("ctl1", "ctl2", "ctl3")}
    answers["ctl3"]["services"]["memcached"] = False
    events, memory = heal.reconcile_events(view, answers, {"silent": {}, "lost": {"ctl3": NOW}}, NOW + 10)
    # host_back, and no service heal of the host coming back
    assert [tag for tag, _ in events] == ["hastack/heal/reconcile/host_back/ctl3"]
    assert memory["lost"] == {"ctl3": NOW} and memory["returning"] == {"ctl3": NOW + 10}
    # not fired again while it may still run...
    events, memory = heal.reconcile_events(view, answers, memory, NOW + 10 + retry - 1)
    assert events == []
    # ...but again after host_back_retry (it was refused: another host was being brought back)
    events, memory = heal.reconcile_events(view, answers, memory, NOW + 10 + retry)
    assert [tag for tag, _ in events] == ["hastack/heal/reconcile/host_back/ctl3"]
    # silent again before it was back: fired as soon as it answers
    events, memory = heal.reconcile_events(view, {m: answers[m] for m in ("ctl1", "ctl2")}, memory, NOW + 100)
    assert events == [] and memory["returning"] == {}
    events, memory = heal.reconcile_events(view, answers, memory, NOW + 101)
    assert [tag for tag, _ in events] == ["hastack/heal/reconcile/host_back/ctl3"]
    # its host_back done: an ordinary host again, its services compared
    memory = heal.host_back_finished(memory, "ctl3")
    assert memory["lost"] == {} and memory["returning"] == {}
    events, memory = heal.reconcile_events(view, answers, memory, NOW + 102)
    assert [tag for tag, _ in events] == ["hastack/heal/reconcile/service_down/ctl3/memcached"]


def test_two_returning_hosts_take_turns(heal, view):
    # One host_back per round, the least recently fired first: a host whose
    # host_back keeps failing cannot keep the other one out.
    retry = heal.settings_of(view)["host_back_retry"]
    answers = {m: ok_answer(heal.wanted_services(view, m)) for m in ("ctl1", "ctl2", "ctl3")}
    memory = {"silent": {}, "lost": {"ctl2": NOW, "ctl3": NOW}}
    fired = []
    for step in range(0, int(3 * retry), 10):
        events, memory = heal.reconcile_events(view, answers, memory, NOW + 100 + step)
        fired += [(step, tag.rsplit("/", 1)[1]) for tag, _ in events]
    assert [host for _, host in fired] == ["ctl2", "ctl3", "ctl2", "ctl3", "ctl2", "ctl3"], fired
    assert [step for step, _ in fired] == [0, 10, retry, retry + 10, 2 * retry, 2 * retry + 10], fired
    # ctl2 back: ctl3's host_back is fired at the next round, not after host_back_retry.
    memory = heal.host_back_finished(memory, "ctl2")
    events, memory = heal.reconcile_events(view, answers, memory, NOW + 100 + 3 * retry + 1)
    assert [tag for tag, _ in events] == ["hastack/heal/reconcile/host_back/ctl3"]


@pytest.mark.parametrize("data, want", [
    ({"observed": 1700000000.5}, 1700000000.5),
    ({"_stamp": "2023-11-14T22:13:20.000000"}, 1700000000.0),
    ({"_stamp": "not a time"}, None),
    ({}, None),
    (None, None),
])
def test_observed_at(heal, data, want):
    assert heal.observed_at(data) == want


@pytest.mark.parametrize("record, alive, stale", [
    ({"pid": 10, "expires": NOW + 5}, True, False),
    ({"pid": 10, "expires": NOW + 5}, False, True),
    ({"pid": 10, "expires": NOW - 1}, True, True),
    ({"pid": "x", "expires": NOW + 5}, True, True),
    ({"pid": 10, "expires": "soon"}, True, True),
    (None, True, True),
])
def test_lock_is_stale(heal, record, alive, stale):
    assert heal.lock_is_stale(record, NOW, lambda pid: alive) is stale


def test_lock_files(heal, tmp_path):
    directory = heal.state_dir(tmp_path)
    ok, record = heal.take_lock(directory, ACTION, "h1", NOW, 900, 4242, alive=lambda pid: True)
    assert ok and record["key"] == KEY and record["expires"] == NOW + 900
    # held: a second heal of the cluster is refused, another cluster is free
    ok, holder = heal.take_lock(directory, dict(ACTION, target="ctl1"), "h2", NOW, 900, 4243, alive=lambda pid: True)
    assert not ok and holder["heal_id"] == "h1"
    ok, _ = heal.take_lock(directory, dict(ACTION, cluster="galera"), "h3", NOW, 900, 4243, alive=lambda pid: True)
    assert ok
    # only the holder's key releases it
    assert heal.release_lock(directory, "memcached", "other") is None
    assert heal.release_lock(directory, "memcached", KEY)["heal_id"] == "h1"
    ok, _ = heal.take_lock(directory, ACTION, "h4", NOW, 900, 4244, alive=lambda pid: True)
    assert ok
    # the holder died: the lock is stale and is taken over
    ok, record = heal.take_lock(directory, dict(ACTION, target="ctl1"), "h5", NOW, 900, 4245,
                                alive=lambda pid: pid != 4244)
    assert ok and record["heal_id"] == "h5"
    # its TTL passed
    ok, record = heal.take_lock(directory, dict(ACTION, target="ctl3"), "h6", NOW + 901, 900, 4246,
                                alive=lambda pid: True)
    assert ok and record["heal_id"] == "h6"
    assert set(heal.live_locks(directory, NOW + 901, alive=lambda pid: True)) == {"memcached"}


def test_the_own_pid_is_alive(heal):
    import os
    assert heal.pid_alive(os.getpid())
    assert not heal.pid_alive(2 ** 22 + 12345)


def ok_answer(services, galera="Primary"):
    return {"services": {s: True for s in services},
            "galera": {"wsrep_cluster_status": galera} if galera else None}


ALL = ["hastack-galera-health", "haproxy", "keepalived", "mariadb", "memcached", "rabbitmq-server"]


def test_reconcile_all_well(heal, view):
    answers = {m: ok_answer(ALL) for m in ("ctl1", "ctl2", "ctl3")}
    events, memory = heal.reconcile_events(view, answers, {}, NOW)
    assert events == []
    assert memory == {"silent": {}, "lost": {}, "returning": {}}


def test_reconcile_service_down(heal, view):
    answers = {m: ok_answer(ALL) for m in ("ctl1", "ctl2", "ctl3")}
    answers["ctl2"]["services"]["memcached"] = False
    # a service the host does not carry is not compared
    answers["ctl1"]["services"]["garb"] = False
    events, _ = heal.reconcile_events(view, answers, {}, NOW)
    assert events == [("hastack/heal/reconcile/service_down/ctl2/memcached",
                       {"kind": "service_down", "minion": "ctl2", "service": "memcached",
                        "id": "ctl2", "service_name": "memcached", "memcached": {"running": False}})]


def test_reconcile_host_lost_after_grace_then_back(heal, view):
    grace = heal.settings_of(view)["host_grace"]
    answers = {m: ok_answer(ALL) for m in ("ctl1", "ctl2")}
    events, memory = heal.reconcile_events(view, answers, {}, NOW)
    assert events == [] and memory["silent"] == {"ctl3": NOW}
    events, memory = heal.reconcile_events(view, answers, memory, NOW + grace - 1)
    assert events == []
    events, memory = heal.reconcile_events(view, answers, memory, NOW + grace)
    assert [tag for tag, _ in events] == ["hastack/heal/reconcile/host_lost/ctl3"]
    assert events[0][1]["silent_since"] == NOW
    # lost once: not again on every run
    events, memory = heal.reconcile_events(view, answers, memory, NOW + grace + 10)
    assert events == []
    # it answers: host_back, and no service heal for it in the same run
    back = dict(answers, ctl3={"services": {}, "galera": None})
    events, memory = heal.reconcile_events(view, back, memory, NOW + grace + 20)
    assert [tag for tag, _ in events] == ["hastack/heal/reconcile/host_back/ctl3"]
    assert memory == {"silent": {}, "lost": {"ctl3": NOW + grace}, "returning": {"ctl3": NOW + grace + 20}}


def test_reconcile_short_silence_is_forgotten(heal, view):
    answers = {m: ok_answer(ALL) for m in ("ctl1", "ctl2")}
    _, memory = heal.reconcile_events(view, answers, {}, NOW)
    answers["ctl3"] = ok_answer(ALL)
    events, memory = heal.reconcile_events(view, answers, memory, NOW + 5)
    assert events == [] and memory["silent"] == {}


def test_reconcile_galera_without_primary(heal, view):
    grace = heal.settings_of(view)["galera_outage_grace"]
    answers = {m: ok_answer(ALL, galera="non-Primary") for m in ("ctl1", "ctl2")}
    answers["ctl3"] = ok_answer(ALL, galera=None)
    events, memory = heal.reconcile_events(view, answers, {}, NOW)
    assert events == [("hastack/heal/reconcile/galera_no_primary/start",
                       {"kind": "galera_no_primary", "stage": "start", "since": NOW, "silent": [],
                        "reason": "reconciler: no db host in a Primary Component for 0 s"})]
    events, memory = heal.reconcile_events(view, answers, memory, NOW + grace)
    assert events[0][0] == "hastack/heal/reconcile/galera_no_primary/recover"
    # one Primary anywhere: no outage, and the clock resets
    answers["ctl2"] = ok_answer(ALL)
    events, memory = heal.reconcile_events(view, answers, memory, NOW + grace + 1)
    assert events == [] and "galera_no_primary" not in memory


def test_reconcile_galera_reports_silent_members(heal, view):
    answers = {"ctl1": ok_answer(ALL, galera="non-Primary")}
    events, _ = heal.reconcile_events(view, answers, {}, NOW)
    outage = [data for tag, data in events if data["kind"] == "galera_no_primary"]
    assert outage[0]["silent"] == ["ctl2", "ctl3"]


def test_outage_clock_starts_when_every_db_host_answers(heal, view):
    # Two db hosts powered off for longer than the grace: the start stage
    # (pc.recovery) comes first once they are back, not a bootstrap at once.
    grace = heal.settings_of(view)["galera_outage_grace"]
    alone = {"ctl1": ok_answer(ALL, galera="non-Primary")}
    _, memory = heal.reconcile_events(view, alone, {}, NOW)
    events, memory = heal.reconcile_events(view, alone, memory, NOW + 10 * grace)
    assert [d["stage"] for t, d in events if d["kind"] == "galera_no_primary"] == ["start"]
    back = dict(alone, ctl2=ok_answer(ALL, galera=None), ctl3=ok_answer(ALL, galera=None))
    events, memory = heal.reconcile_events(view, back, memory, NOW + 10 * grace + 1)
    assert [d["stage"] for t, d in events if d["kind"] == "galera_no_primary"] == ["start"]
    events, memory = heal.reconcile_events(view, back, memory, NOW + 11 * grace + 1)
    assert [d["stage"] for t, d in events if d["kind"] == "galera_no_primary"] == ["recover"]


def test_reconcile_nothing_answers_is_no_galera_outage(heal, view):
    # no answer at all cannot tell a partition from death: only silence is recorded
    events, memory = heal.reconcile_events(view, {}, {}, NOW)
    assert events == [] and set(memory["silent"]) == {"ctl1", "ctl2", "ctl3"}


MEMBERS = ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]


def rstatus(running, members=MEMBERS, disk=MEMBERS):
    return {"running": running, "members": members, "disk_nodes": disk}


@pytest.mark.parametrize("statuses, ok, words", [
    ({"ctl1": rstatus(["rabbit@ctl1", "rabbit@ctl2"]), "ctl2": rstatus(["rabbit@ctl1", "rabbit@ctl2"])},
     True, "ctl1 sees 2 of 3"),
    # a paused minority (sees only itself) never forgets
    ({"ctl1": rstatus(["rabbit@ctl1"]), "ctl2": None}, False, "no answering member sees a majority"),
    ({"ctl1": None, "ctl2": None}, False, "majority"),
    ({"ctl1": rstatus(MEMBERS)}, False, "still runs"),
    ({"ctl1": rstatus(["rabbit@ctl1", "rabbit@ctl2"], members=["rabbit@ctl1", "rabbit@ctl2"])},
     False, "not a member"),
    ({"ctl1": rstatus(["rabbit@ctl1", "rabbit@ctl2"], disk=["rabbit@ctl3"])}, False, "last disc node"),
])
def test_forget_decision(heal, statuses, ok, words):
    got, reason, via = heal.forget_decision("rabbit@ctl3", statuses, MEMBERS)
    assert (got, words in reason) == (ok, True), reason
    assert (via is not None) == ok


def test_history_is_trimmed(heal):
    assert heal.trim_history(list(range(10)), 3) == [7, 8, 9]


def test_probe_services_is_the_union(heal, view):
    assert heal.probe_services(view) == sorted(ALL)


@pytest.fixture(scope="module")
def engine():
    spec = importlib.util.spec_from_file_location("hastack_heal_engine", REPO / "_engines" / "hastack_heal.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("result, spent, want", [
    ({"interval": 10}, 2.5, 7.5),
    ({"interval": 3}, 0.5, 2.5),
    ({"enabled": False}, 0.0, 10.0),
    (None, 0.0, 10.0),
    ({"interval": 10}, 30.0, 1.0),
    ({"interval": "junk"}, 0.0, 10.0),
])
def test_engine_sleeps_the_interval_the_reconciler_read(engine, result, spent, want):
    assert engine.next_wait(result, 10.0, spent) == want


MARIADB = {"cluster": "galera", "action": "restart_service", "target": "ctl2", "service": "mariadb"}
PRIMARY = {"services": {}, "galera": {"wsrep_cluster_status": "Primary"}}
NON_PRIMARY = {"services": {}, "galera": {"wsrep_cluster_status": "non-Primary"}}
STOPPED = {"services": {}, "galera": None}


@pytest.mark.parametrize("action, answers, deferred", [
    # a peer in the Primary Component: the member joins through it
    (MARIADB, {"ctl1": PRIMARY, "ctl3": STOPPED}, False),
    (MARIADB, {"ctl1": STOPPED, "ctl3": PRIMARY}, False),
    # nobody Primary (stopped, non-Primary, silent): a full outage, the outage heal's
    (MARIADB, {"ctl1": STOPPED, "ctl3": STOPPED}, True),
    (MARIADB, {"ctl1": NON_PRIMARY, "ctl3": STOPPED}, True),
    (MARIADB, {"ctl1": STOPPED}, True),
    (MARIADB, {}, True),
    # the target's own answer does not count
    (MARIADB, {"ctl2": PRIMARY, "ctl1": STOPPED, "ctl3": STOPPED}, True),
    # other services and clusters never wait for it
    (dict(MARIADB, service="hastack-galera-health"), {}, False),
    ({"cluster": "memcached", "action": "restart_service", "target": "ctl2", "service": "memcached"}, {}, False),
    ({"cluster": "galera", "action": "galera_outage", "target": "galera", "service": ""}, {}, False),
])
def test_galera_outage_defers_member_restarts(heal, view, action, answers, deferred):
    reason = heal.galera_outage_defers(action, view, answers)
    assert bool(reason) is deferred
    if deferred:
        assert "galera_outage" in reason and "ctl2" not in reason.split("(")[1].split(")")[0]


def test_a_lone_db_member_is_never_deferred(heal, view):
    alone = dict(view, roles=dict(view["roles"], db=["ctl2"]))
    assert heal.galera_outage_defers(MARIADB, alone, {}) is None


def _start(heal_id, key, started):
    return {"heal_id": heal_id, "key": key, "cluster": "rabbitmq", "phase": "start", "started": started}


@pytest.mark.parametrize("history, locks, orphans", [
    # finished heals and running ones (their lock lives) are no orphans
    ([_start("h1", "k1", NOW - 60), {"heal_id": "h1", "phase": "done", "finished": NOW - 50}], {}, []),
    ([_start("h1", "k1", NOW - 60)], {"rabbitmq": {"heal_id": "h1"}}, []),
    # just started: the lock may not be read yet
    ([_start("h1", "k1", NOW - 1)], {}, []),
    # the lock went with its dead holder and no end was recorded
    ([_start("h1", "k1", NOW - 60)], {}, ["h1"]),
    ([_start("h1", "k1", NOW - 60), _start("h2", "k2", NOW - 30)], {"rabbitmq": {"heal_id": "h2"}}, ["h1"]),
    # refusals are no heals that started
    ([{"heal_id": "h3", "key": "k1", "phase": "refused", "started": NOW - 60, "finished": NOW - 60}], {}, []),
])
def test_orphaned_heals(heal, history, locks, orphans):
    assert [e["heal_id"] for e in heal.orphaned_heals(history, locks, NOW)] == orphans


def test_orphans_close_done_unless_still_failing(heal):
    outage_start = "galera:galera_outage:galera::start"
    orphans = [_start("h1", "k1", NOW - 60), _start("h2", "k2", NOW - 60), _start("h3", outage_start, NOW - 60)]
    closed = heal.close_orphans(orphans, {"k2", "galera:galera_outage:galera::recover"})
    assert [(e["heal_id"], phase) for e, phase in closed] == [
        ("h1", "done"), ("h2", "interrupted"), ("h3", "interrupted")]


def test_finish_heal_releases_and_records_in_one_step(heal, tmp_path):
    directory = heal.state_dir(tmp_path)
    action = {"cluster": "memcached", "action": "restart_service", "target": "ctl2", "service": "memcached"}
    taken, _ = heal.take_lock(directory, action, "h1", NOW, 900, 1, alive=lambda pid: True)
    assert taken
    record, entry, history = heal.finish_heal(directory, "memcached", KEY,
                                              lambda rec: {"heal_id": rec["heal_id"], "phase": "done"}, 10)
    assert record["heal_id"] == "h1" and entry == {"heal_id": "h1", "phase": "done"} and history == [entry]
    assert not list((directory / "locks").glob("*.json"))


def test_orphans_of_a_silent_host_stay_open(heal):
    orphans = [dict(_start("h1", "k1", NOW - 60), target="ctl2"), dict(_start("h2", "k2", NOW - 60), target="ctl1")]
    closed = heal.close_orphans(orphans, set(), silent={"ctl2"})
    assert [(e["heal_id"], phase) for e, phase in closed] == [("h2", "done")]


def test_probe_processes_come_from_the_tier_blocks(heal, view):
    assert heal.probe_processes(view) == {
        "rabbitmq-server": "-s rabbit boot",
        "keystone": "--ini /etc/keystone/keystone-uwsgi.ini",
        "placement-api": "--ini /etc/placement/placement-api-uwsgi.ini",
        "nova-api": "--ini /etc/nova/nova-api-uwsgi.ini",
        "nova-api-metadata": "--ini /etc/nova/nova-api-metadata-uwsgi.ini",
        "nova-conductor": "/usr/bin/nova-conductor",
        "nova-scheduler": "/usr/bin/nova-scheduler",
        "nova-compute": "/usr/bin/nova-compute"}


@pytest.fixture
def sleeper():
    """A process with a command line nothing else has."""
    marker = f"hastack-probe-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(["sh", "-c", 'sleep 30; : "$0"', marker])
    time.sleep(0.2)
    yield marker
    proc.kill()
    proc.wait()


def test_heal_probe_finds_a_process_watched_service_by_its_command_line(sleeper):
    hastack = load_salt_module("_modules", "hastack")
    asked = []

    def status(name):
        asked.append(name)
        return True

    hastack.__salt__ = {"service.status": status, "cmd.retcode": lambda *a, **k: 1}
    probe = hastack.heal_probe(["memcached", "broker", "gone"], processes={"broker": sleeper,
                                                                            "gone": sleeper + "-not-there"})
    assert probe["services"] == {"memcached": True, "broker": True, "gone": False}
    # the init script is asked only for the service without a signature
    assert asked == ["memcached"]
    assert hastack.process_running(sleeper) is True
    assert hastack.process_running("") is False


@pytest.mark.parametrize("pillar, off", [
    ({"hastack": {"heal": {"enabled": False}}}, {"enabled": False, "reconcile_interval": 10}),
    ({"hastack": {"heal": {"enabled": False, "reconcile_interval": 3}}}, {"enabled": False, "reconcile_interval": 3}),
    ({"hastack": {"heal": {"enabled": True}}}, None),
    # not switched off in the pillar: the defaults decide, through the whole view
    ({"hastack": {"heal": {}}}, None),
    ({"hastack": {}}, None),
    ({}, None),
    (None, None),
])
def test_reconciler_skips_the_view_only_when_the_pillar_switches_healing_off(heal, pillar, off):
    got = heal.switched_off(pillar)
    if off is None:
        assert got is None
    else:
        assert {k: got[k] for k in off} == off


def test_maintenance_and_reset_take_several_names_in_one_call(heal, tmp_path, monkeypatch):
    fired = []
    monkeypatch.setattr(heal, "__opts__", {"cachedir": str(tmp_path)}, raising=False)
    monkeypatch.setattr(heal, "__context__", {}, raising=False)
    monkeypatch.setattr(heal, "_fire", lambda tag, data: fired.append(tag))
    monkeypatch.setattr(heal, "_tier_names", lambda: {"keystone"})
    assert heal.maintenance("ctl1, ctl2,keystone,galera", "on") == {
        "hosts": ["ctl1", "ctl2"], "clusters": ["galera", "keystone"]}
    assert heal.maintenance(["ctl2", "galera"], "off") == {"hosts": ["ctl1"], "clusters": ["keystone"]}
    assert fired[-2:] == ["hastack/heal/maintenance/ctl2", "hastack/heal/maintenance/galera"]
    assert heal.maintenance(" , ", "off") == {"error": "name a host or a cluster"}
    assert heal.__context__["retcode"] == 1

    fired.clear()
    monkeypatch.setattr(heal, "settings_of", lambda view: {"history": 50})
    assert heal.reset("memcached") == {"cluster": "memcached", "reset": True}
    assert heal.reset("galera,hosts") == {"clusters": ["galera", "hosts"], "reset": True}
    assert fired == ["hastack/heal/memcached/reset", "hastack/heal/galera/reset", "hastack/heal/hosts/reset"]


def test_a_silence_dates_from_the_question_not_from_the_end_of_the_wait(heal, view):
    # A silent host makes the round wait its answer timeout; the grace counts
    # from when the question went out, so that wait is not added to it.
    grace = heal.settings_of(view)["host_grace"]
    answers = {m: ok_answer(heal.wanted_services(view, m)) for m in ("ctl1", "ctl2")}
    events, memory = heal.reconcile_events(view, answers, {}, NOW + 20, asked=NOW)
    assert events == [] and memory["silent"] == {"ctl3": NOW}
    events, memory = heal.reconcile_events(view, answers, memory, NOW + grace - 1, asked=NOW + grace - 21)
    assert events == []
    events, memory = heal.reconcile_events(view, answers, memory, NOW + grace, asked=NOW + grace - 20)
    assert [tag for tag, _ in events] == ["hastack/heal/reconcile/host_lost/ctl3"]
    assert memory["lost"] == {"ctl3": NOW + grace}
    # without `asked`, the silence starts at `now` (as before)
    _, memory = heal.reconcile_events(view, answers, {}, NOW + 20)
    assert memory["silent"] == {"ctl3": NOW + 20}
