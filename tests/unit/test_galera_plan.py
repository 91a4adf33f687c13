"""
Unit tests of _modules/hastack_galera_plan.py: the parsers, the full-outage
bootstrap decision and the sentences of hastack.galera.recover, and the plan of
a first deployment. Pure functions: no loader dunders, no binaries.
"""

import pytest
from conftest import load_salt_module

plan = load_salt_module("_modules", "hastack_galera_plan")

U1 = "6f5a3c7e-1c2b-11ef-8a6f-2e1f3c4d5e6f"
U2 = "0b7d9e21-2a3c-11ef-9b1d-4e5f6a7b8c9d"
NIL = "00000000-0000-0000-0000-000000000000"
ABC = ["a", "b", "c"]


def pos(seqno=-1, safe=0, uuid=U1, recovered=None, recovered_uuid=None, **extra):
    """One position entry, shaped like hastack_galera.position() returns it."""
    entry = {
        "uuid": uuid,
        "seqno": seqno,
        "safe_to_bootstrap": safe,
        "recovered_uuid": recovered_uuid,
        "recovered_seqno": recovered,
    }
    entry.update(extra)
    return entry


# --------------------------------------------------------------------------
# choose_bootstrap: (id, positions, members, kwargs, ok, bootstrap, order,
#                    words the reason must contain)
# --------------------------------------------------------------------------

DECISIONS = [
    ("clean shutdown, equal seqnos, one marked safe -> that one",
     {"a": pos(10), "b": pos(10, safe=1), "c": pos(10)}, ABC, {},
     True, "b", ["a", "c"], ["safe_to_bootstrap: 1", "same committed state"]),
    ("clean shutdown, different seqnos -> highest",
     {"a": pos(8), "b": pos(12), "c": pos(10)}, ABC, {},
     True, "b", ["c", "a"], ["highest seqno (12)"]),
    ("crash, all seqno -1 -> highest recovered",
     {"a": pos(recovered=100), "b": pos(recovered=120), "c": pos(recovered=110)}, ABC, {},
     True, "b", ["c", "a"], ["highest seqno (120)"]),
    ("crash, equal recovered seqnos -> first in member order",
     {"a": pos(recovered=50), "b": pos(recovered=50), "c": pos(recovered=50)}, ABC, {},
     True, "a", ["b", "c"], ["first in member order"]),
    ("tie follows the members list, not the dict order",
     {"c": pos(recovered=50), "b": pos(recovered=50), "a": pos(recovered=50)}, ABC, {},
     True, "a", ["b", "c"], ["first in member order"]),
    ("members order decides, whatever it is",
     {"a": pos(recovered=50), "b": pos(recovered=50), "c": pos(recovered=50)}, ["c", "b", "a"], {},
     True, "c", ["b", "a"], ["first in member order"]),
    ("mix of clean and crashed nodes -> recovered seqno counts",
     {"a": pos(100), "b": pos(recovered=120), "c": pos(90)}, ABC, {},
     True, "b", ["a", "c"], ["120"]),
    ("different cluster UUIDs -> refuse",
     {"a": pos(10), "b": pos(10, uuid=U2), "c": pos(10)}, ABC, {},
     False, None, [], ["disagree on the cluster UUID", "a, c has " + U1, "b has " + U2]),
    ("different UUIDs refuse even with allow_partial",
     {"a": pos(10), "b": pos(12, uuid=U2), "c": None}, ABC, {"allow_partial": True},
     False, None, [], ["cluster UUID"]),
    ("one member missing -> refuse",
     {"a": pos(10), "b": pos(12), "c": None}, ABC, {},
     False, None, [], ["c did not answer", "allow_partial"]),
    ("member absent from positions counts as missing",
     {"a": pos(10), "b": pos(12)}, ABC, {},
     False, None, [], ["c did not answer"]),
    ("one missing, allow_partial, 2 of 3 -> highest of those",
     {"a": pos(10), "b": pos(12), "c": None}, ABC, {"allow_partial": True},
     True, "b", ["a"], ["allow_partial: c was left out"]),
    ("2 of 4 answered with allow_partial -> no majority, refuse",
     {"a": pos(10), "b": pos(12), "c": None, "d": None}, ["a", "b", "c", "d"],
     {"allow_partial": True},
     False, None, [], ["Only 2 of 4", "strict majority (3)", "c, d"]),
    ("safe_to_bootstrap on a lower seqno -> the higher one wins",
     {"a": pos(10, safe=1), "b": pos(12), "c": pos(11)}, ABC, {},
     True, "b", ["c", "a"], ["a is marked safe_to_bootstrap: 1", "lower seqno 10",
                             "higher seqno wins"]),
    ("unknown position -> refuse",
     {"a": pos(10), "b": pos(-1, recovered=None), "c": pos(11)}, ABC, {},
     False, None, [], ["position of b is unknown"]),
    ("unknown position with allow_partial and a majority -> left out, rejoins last",
     {"a": pos(10), "b": pos(-1), "c": pos(11)}, ABC, {"allow_partial": True},
     True, "c", ["a", "b"], ["allow_partial: b was left out"]),
    ("unknown plus missing with allow_partial -> no majority",
     {"a": pos(10), "b": pos(-1), "c": None}, ABC, {"allow_partial": True},
     False, None, [], ["Only 1 of 3", "b, c"]),
    ("two nodes marked safe -> ambiguous",
     {"a": pos(12, safe=1), "b": pos(12, safe=1), "c": pos(10)}, ABC, {},
     False, None, [], ["Ambiguous", "a, b"]),
    ("safe claim with unknown position -> ambiguous even with allow_partial",
     {"a": pos(10), "b": pos(-1, safe=1), "c": pos(11)}, ABC, {"allow_partial": True},
     False, None, [], ["Ambiguous", "b is marked safe_to_bootstrap: 1", "unknown"]),
    ("node running in a Primary component -> recovery not needed",
     {"a": pos(10), "b": pos(-1, running=True, cluster_status="Primary"), "c": pos(10)}, ABC, {},
     False, None, [], ["not needed", "b is running in a Primary component"]),
    ("node running but non-Primary -> stop it first",
     {"a": pos(10), "b": pos(-1, running=True, cluster_status="non-Primary"), "c": pos(10)},
     ABC, {},
     False, None, [], ["b is still running", "stop MariaDB"]),
    ("force does not override a running Primary",
     {"a": pos(10), "b": pos(-1, running=True, cluster_status="Primary"), "c": pos(10)},
     ABC, {"force": "a"},
     False, None, [], ["not needed"]),
    ("force a valid node at a lower seqno -> chosen, with a warning",
     {"a": pos(10), "b": pos(12), "c": pos(11)}, ABC, {"force": "a"},
     True, "a", ["b", "c"], ["a was forced", "b, c reached 12"]),
    ("force overrides a missing member",
     {"a": pos(10), "b": pos(12), "c": None}, ABC, {"force": "b"},
     True, "b", ["a"], ["forced"]),
    ("force an unknown minion -> refuse",
     {"a": pos(10), "b": pos(12), "c": pos(11)}, ABC, {"force": "zz"},
     False, None, [], ["zz is not a member"]),
    ("force a member that did not answer -> refuse",
     {"a": pos(10), "b": pos(12), "c": None}, ABC, {"force": "c"},
     False, None, [], ["c did not answer"]),
    ("nil-UUID node is empty: ignored for UUID check, rejoins last",
     {"a": pos(10), "b": pos(-1, uuid=NIL, recovered=None, recovered_uuid=NIL), "c": pos(11)},
     ABC, {},
     True, "c", ["a", "b"], ["highest seqno (11)"]),
    ("nil UUID in grastate, but recovered UUID known -> uses recovered",
     {"a": pos(10), "b": pos(-1, uuid=NIL, recovered=15, recovered_uuid=U1), "c": pos(11)},
     ABC, {},
     True, "b", ["c", "a"], ["15"]),
    ("nil UUID in grastate, recovered UUID differs -> refuse",
     {"a": pos(10), "b": pos(-1, uuid=NIL, recovered=15, recovered_uuid=U2), "c": pos(11)},
     ABC, {},
     False, None, [], ["cluster UUID"]),
    ("all nodes empty -> refuse, new cluster",
     {"a": pos(uuid=NIL), "b": pos(uuid=NIL), "c": pos(uuid=NIL)}, ABC, {},
     False, None, [], ["No member has a known position"]),
    ("no members -> refuse",
     {}, [], {},
     False, None, [], ["No members"]),
    ("positions of non-members are ignored",
     {"a": pos(10), "b": pos(12), "c": pos(11), "x": pos(99, uuid=U2)}, ABC, {},
     True, "b", ["c", "a"], ["12"]),
]


@pytest.mark.parametrize(
    "positions, members, kwargs, ok, bootstrap, order, words",
    [case[1:] for case in DECISIONS],
    ids=[case[0] for case in DECISIONS],
)
def test_choose_bootstrap(positions, members, kwargs, ok, bootstrap, order, words):
    result = plan.choose_bootstrap(positions, members, **kwargs)
    assert result["ok"] is ok, result["reason"]
    assert result["bootstrap"] == bootstrap
    assert result["order"] == order
    for word in words:
        assert word in result["reason"], (word, result["reason"])
    # Every reason is a sentence.
    assert result["reason"].rstrip().endswith(".")


def test_choose_does_not_mutate_inputs():
    positions = {"a": pos(10), "b": pos(12), "c": pos(11)}
    members = list(ABC)
    snapshot = repr((positions, members))
    plan.choose_bootstrap(positions, members)
    assert repr((positions, members)) == snapshot


# --------------------------------------------------------------------------
# choose(): the orchestration-facing wrapper normalizes its input.
# --------------------------------------------------------------------------

def test_choose_unwraps_salt_function_return():
    raw = {"ret": {"a": pos(10), "b": pos(12), "c": pos(11)}}
    result = plan.choose(raw, "a, b,c")
    assert (result["ok"], result["bootstrap"]) == (True, "b")


def test_choose_unwraps_per_minion_ret_and_treats_strings_as_no_answer():
    raw = {
        "a": {"ret": pos(10), "retcode": 0, "jid": "1"},
        "b": {"ret": pos(12), "retcode": 0},
        "c": "Minion did not return. [No response]",
    }
    assert not plan.choose(raw, ABC)["ok"]
    result = plan.choose(raw, ABC, allow_partial=True)
    assert (result["ok"], result["bootstrap"]) == (True, "b")


# --------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------

GRASTATE_CLEAN = f"""# GALERA saved state
version: 2.1
uuid:    {U1}
seqno:   1234
safe_to_bootstrap: 1
"""

GRASTATE_CRASHED = f"""# GALERA saved state
version: 2.1
uuid:    {U1}
seqno:   -1
safe_to_bootstrap: 0
"""


@pytest.mark.parametrize("text, expected", [
    (GRASTATE_CLEAN, {"version": "2.1", "uuid": U1, "seqno": 1234, "safe_to_bootstrap": 1}),
    (GRASTATE_CRASHED, {"version": "2.1", "uuid": U1, "seqno": -1, "safe_to_bootstrap": 0}),
    # A garbled seqno is "unknown", never a position.
    ("uuid: " + U1 + "\nseqno: x12\n", {"version": None, "uuid": U1, "seqno": -1,
                                        "safe_to_bootstrap": 0}),
    ("", {"version": None, "uuid": None, "seqno": -1, "safe_to_bootstrap": 0}),
], ids=["clean", "crashed", "garbled-seqno", "empty"])
def test_parse_grastate(text, expected):
    assert plan.parse_grastate(text) == expected


GVWSTATE = """my_uuid: d3124bc8-1605-11e4-aa3d-ab44303c044a
#vwbeg
view_id: 3 0dae1307-1606-11e4-aa94-5255b1455aa0 12
bootstrap: 0
member: 0dae1307-1606-11e4-aa94-5255b1455aa0 0
member: 47bbe2e2-1606-11e4-8593-2a6d8335bc79 0
member: d3124bc8-1605-11e4-aa3d-ab44303c044a 1
#vwend
"""


def test_parse_gvwstate():
    view = plan.parse_gvwstate(GVWSTATE)
    assert view["my_uuid"] == "d3124bc8-1605-11e4-aa3d-ab44303c044a"
    assert (view["view_type"], view["view_uuid"], view["view_seq"]) == (
        3, "0dae1307-1606-11e4-aa94-5255b1455aa0", 12)
    assert view["bootstrap"] == 0
    assert view["members"] == [
        {"uuid": "0dae1307-1606-11e4-aa94-5255b1455aa0", "segment": 0},
        {"uuid": "47bbe2e2-1606-11e4-8593-2a6d8335bc79", "segment": 0},
        {"uuid": "d3124bc8-1605-11e4-aa3d-ab44303c044a", "segment": 1},
    ]


@pytest.mark.parametrize("text", [None, "", "# nothing\n"])
def test_parse_gvwstate_absent(text):
    assert plan.parse_gvwstate(text) is None


DIGIT_UUID = "12345678-1234-1234-1234-123456789012"

RECOVER_LOG = f"""\
2024-05-14 10:12:01 0 [Note] Starting MariaDB 10.11.6-MariaDB-0+deb12u1 source revision x as process 4242
2024-05-14 10:12:01 0 [Note] InnoDB: Compressed tables use zlib 1.2.13
2024-05-14 10:12:01 0 [Note] InnoDB: Starting crash recovery from checkpoint LSN=46846
2024-05-14 10:12:01 0 [Note] InnoDB: log sequence number 47134; transaction id 29
2024-05-14 10:12:01 0 [Note] WSREP: Recovered position from storage: {U2}:7
2024-05-14 10:12:01 0 [Note] Server socket created on IP: '0.0.0.0', port: '3306'.
2024-05-14 10:12:01 0 [Note] WSREP: Recovered position: {U1}:1234
2024-05-14 10:12:01 0 [Note] InnoDB: Buffer pool(s) load completed at 240514 10:12:01
"""


@pytest.mark.parametrize("text, expected", [
    (f"[Note] WSREP: Recovered position: {U1}:1234", {"uuid": U1, "seqno": 1234}),
    (f"WSREP: Recovered position:  {U1}:1234,0-1-1234", {"uuid": U1, "seqno": 1234}),
    # Long digit runs inside the UUID must not be read as the seqno (LP#1834467).
    (f"2024-05-14 10:12:01 0 [Note] WSREP: Recovered position: {DIGIT_UUID}:42",
     {"uuid": DIGIT_UUID, "seqno": 42}),
    (f"WSREP: Recovered position: {DIGIT_UUID}:-1", {"uuid": DIGIT_UUID, "seqno": -1}),
    (RECOVER_LOG, {"uuid": U1, "seqno": 1234}),
    # Several runs appended to one log: the last one counts.
    (f"WSREP: Recovered position: {U1}:10\nnoise\nWSREP: Recovered position: {U1}:11\n",
     {"uuid": U1, "seqno": 11}),
    (f"WSREP: Recovered position: {NIL}:-1", {"uuid": NIL, "seqno": -1}),
    ("[Note] WSREP: wsrep_load(): loading provider library 'none'\n"
     "[Note] WSREP: Recovering position... skipping position recovery\n", None),
    (f"[Note] WSREP: Recovered position from storage: {U1}:7", None),
    ("", None),
    (None, None),
], ids=["simple", "gtid-suffix", "digit-uuid", "digit-uuid-negative", "noisy-log",
        "last-wins", "nil", "skipped", "from-storage-only", "empty", "none"])
def test_parse_wsrep_recover(text, expected):
    assert plan.parse_wsrep_recover(text) == expected


# --------------------------------------------------------------------------
# deploy_plan: how hastack.deploy brings the db members up.
# (id, has_state, running, ok, bootstrap, words in the reason)
# --------------------------------------------------------------------------
def cmd_ret(values):
    """Shaped like a saltutil.cmd return: {minion: {"ret": value, "retcode": 0}}."""
    return {m: {"ret": v, "retcode": 0} for m, v in values.items()}


# fmt: off
DEPLOY_CASES = [
    ("brand-new cluster", {"a": False, "b": False, "c": False}, {"a": False, "b": False, "c": False},
     True, "a", ["new cluster"]),
    ("one member runs: the others join it", {"a": True, "b": True, "c": True},
     {"a": False, "b": True, "c": False}, True, None, ["b runs"]),
    ("standalone servers (no Galera state) are no cluster to join", {"a": False, "b": False, "c": False},
     {"a": False, "b": True, "c": True}, True, "a", ["new cluster"]),
    ("full outage: refuse and name recover", {"a": True, "b": True, "c": True},
     {"a": False, "b": False, "c": False}, False, None,
     ["full outage", "held by a, b, c", "salt-run state.orch hastack.galera.recover"]),
    ("one member holds state: still an outage", {"a": False, "b": True, "c": False},
     {"a": False, "b": False, "c": False}, False, None, ["held by b", "hastack.galera.recover"]),
    ("fresh but a member is silent: never bootstrap", {"a": False, "b": False},
     {"a": False, "b": False}, False, None, ["c did not answer"]),
    ("outage with a silent member", {"a": True, "b": True}, {"a": False, "b": False}, False, None,
     ["no answer from c", "hastack.galera.recover"]),
    ("an error string is no answer", {"a": False, "b": False, "c": "ERROR: module missing"},
     {"a": False, "b": False, "c": False}, False, None, ["c did not answer"]),
]
# fmt: on


@pytest.mark.parametrize("has_state, running, ok, bootstrap, words",
                         [c[1:] for c in DEPLOY_CASES], ids=[c[0] for c in DEPLOY_CASES])
def test_deploy_plan(has_state, running, ok, bootstrap, words):
    for shape in (lambda d: d, cmd_ret):  # plain mappings and saltutil.cmd returns
        result = plan.deploy_plan(shape(has_state), shape(running), ABC)
        assert (result["ok"], result["bootstrap"]) == (ok, bootstrap), result
        for word in words:
            assert word in result["reason"], (word, result["reason"])


def test_deploy_plan_without_members_does_nothing():
    assert plan.deploy_plan({}, {}, []) == {
        "ok": True, "bootstrap": None, "reason": "There are no db members.", "steps": []}


def test_deploy_plan_steps_carry_each_members_pillar():
    fresh = plan.deploy_plan(cmd_ret({"a": False, "b": False, "c": False}),
                             cmd_ret({"a": False, "b": False, "c": False}), ABC)
    assert fresh["steps"] == [
        {"minion": "a", "pillar": {"hastack": {"galera": {"bootstrap": True}}}},
        {"minion": "b", "pillar": {"hastack": {"galera": {"bootstrap": False}}}},
        {"minion": "c", "pillar": {"hastack": {"galera": {"bootstrap": False}}}},
    ]
    # A running member: everyone joins, nobody bootstraps.
    joining = plan.deploy_plan({"a": True, "b": True, "c": True}, {"a": False, "b": True, "c": False}, ABC)
    assert [s["minion"] for s in joining["steps"]] == ABC
    assert not any(s["pillar"]["hastack"]["galera"]["bootstrap"] for s in joining["steps"])
    # A refusal has no step to render.
    outage = plan.deploy_plan({"a": True, "b": True, "c": True}, {"a": False, "b": False, "c": False}, ABC)
    assert outage["ok"] is False and outage["steps"] == []


def test_virtual_loads_anywhere():
    # No binary, no __opts__ role check: the master loads it as it is.
    assert plan.__virtual__() == "hastack_galera_plan"
    assert not hasattr(plan, "__opts__")


# --------------------------------------------------------------------------
# recover_plan: the decision and the sentences hastack.galera.recover renders.
# --------------------------------------------------------------------------
def test_recover_plan_comment_names_the_choice_the_order_and_the_positions():
    raw = cmd_ret({"a": pos(10), "b": pos(12, safe=1), "c": pos(recovered=11, running=False)})
    result = plan.recover_plan(raw, ABC)
    assert (result["ok"], result["bootstrap"], result["order"]) == (True, "b", ["c", "a"])
    assert result["comment"].startswith(f"Bootstrapping b: {result['reason']} Then rejoining: c, a. ")
    assert result["summary"] == [
        f"a: uuid {U1} seqno 10 recovered None safe_to_bootstrap 0 running None",
        f"b: uuid {U1} seqno 12 recovered None safe_to_bootstrap 1 running None",
        f"c: uuid {U1} seqno -1 recovered 11 safe_to_bootstrap 0 running False",
    ]
    assert result["comment"].endswith("Positions: " + "; ".join(result["summary"]))


def test_recover_plan_refusal_says_nothing_changed_and_lists_silent_members():
    raw = {"a": {"ret": pos(10), "retcode": 0}, "b": {"ret": pos(12), "retcode": 0},
           "c": "Minion did not return. [No response]"}
    result = plan.recover_plan(raw, ABC)
    assert result["ok"] is False and result["bootstrap"] is None
    assert result["comment"].startswith("Galera recovery refused, nothing was changed: c did not answer")
    assert result["summary"][-1] == "c: no answer"


def test_recover_plan_with_only_the_bootstrap_node_rejoins_none():
    result = plan.recover_plan(cmd_ret({"a": pos(10)}), ["a"])
    assert "Then rejoining: none." in result["comment"]


@pytest.mark.parametrize("allow_partial, ok", [
    (True, True), ("True", True), ("true", True), (1, True),
    (False, False), ("False", False), ("", False), (None, False), (0, False),
])
def test_recover_plan_reads_pillar_spellings_of_allow_partial(allow_partial, ok):
    raw = cmd_ret({"a": pos(10), "b": pos(12)})  # c is silent
    assert plan.recover_plan(raw, ABC, allow_partial=allow_partial)["ok"] is ok


@pytest.mark.parametrize("force, bootstrap", [("", "b"), (None, "b"), ("a", "a")])
def test_recover_plan_empty_force_means_none(force, bootstrap):
    raw = cmd_ret({"a": pos(10), "b": pos(12), "c": pos(11)})
    assert plan.recover_plan(raw, "a,b,c", force=force)["bootstrap"] == bootstrap
