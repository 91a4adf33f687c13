"""
The Galera orchestrations rendered in-process with a masterless Caller, the
way the master renders them: orch/galera/recover.sls and orch/galera/deploy.sls.

A stand-in ``saltutil`` module (written to the Caller's module_dirs, where it
shadows Salt's) records every ``saltutil.cmd`` and answers with canned minion
returns, so a test sees exactly what the orchestration gathers from the
minions while it renders, and what it renders from the answers.
"""

import copy
import json
import pathlib

import pytest
import salt.client
import salt.config
import salt.utils.yaml
from test_map_render import CONVERGED

REPO = pathlib.Path(__file__).resolve().parents[2]
SECRETS = {name: f"{name}-0123456789abcdef" for name in (
    "keepalived_auth", "haproxy_stats", "galera_sst", "db_keystone", "db_glance", "db_nova",
    "db_placement", "rabbit_cookie", "rabbit_openstack", "keystone_admin", "keystone_fernet_seed",
    "service_glance", "service_nova", "service_placement", "horizon_secret_key", "service_swift",
    "swift_hash_prefix", "swift_hash_suffix")}
U1 = "6f5a3c7e-1c2b-11ef-8a6f-2e1f3c4d5e6f"

FAKE_SALTUTIL = '''
"""Test stand-in for saltutil.cmd: records calls, answers from a JSON file."""
import json

__virtualname__ = "saltutil"


def __virtual__():
    return __virtualname__


def is_running(fun):
    return []


def cmd(tgt, fun, arg=(), tgt_type="glob", kwarg=None, **kwargs):
    with open(__opts__["hastack_test_dir"] + "/calls.jsonl", "a") as out:
        out.write(json.dumps({"tgt": tgt, "fun": fun, "arg": list(arg or []),
                              "kwarg": kwarg or {}}) + "\\n")
    with open(__opts__["hastack_test_dir"] + "/answers.json") as src:
        answers = json.load(src)
    return answers.get(fun, {})
'''


def pillar(**galera):
    hastack = copy.deepcopy(CONVERGED)
    hastack["secrets"] = dict(SECRETS)
    if galera:
        hastack["galera"] = galera
    return {"hastack": hastack}


@pytest.fixture(scope="module")
def orch(tmp_path_factory):
    """orch(sls, pillar, answers) -> (high data {id: {function, args}} or errors, calls)."""
    base = tmp_path_factory.mktemp("orch_render")
    roots = base / "roots"
    roots.mkdir()
    for name in ("hastack", "orch"):
        (roots / name).symlink_to(REPO / name, target_is_directory=True)
    fake_modules = base / "modules"
    fake_modules.mkdir()
    (fake_modules / "saltutil.py").write_text(FAKE_SALTUTIL)
    io = base / "io"
    io.mkdir()
    conf = base / "minion"
    conf.write_text(salt.utils.yaml.safe_dump({
        "id": "master_master", "file_client": "local",
        "file_roots": {"base": [str(roots)]},
        "pillar_roots": {"base": [str(tmp_path_factory.mktemp("orch_pillar"))]},
        "module_dirs": [str(fake_modules), str(REPO / "_modules")],
        "states_dirs": [str(REPO / "_states")],
        "cachedir": str(base / "cache"), "pki_dir": str(base / "pki"),
        "sock_dir": str(base / "sock"), "log_file": str(base / "minion.log"),
        "grains": {"os_family": "Debian"}, "grains_cache": False,
        "hastack_test_dir": str(io),
    }))
    caller = salt.client.Caller(mopts=salt.config.minion_config(str(conf)))

    def _render(sls, pillar_data, answers=None):
        (io / "answers.json").write_text(json.dumps(answers or {}))
        calls_file = io / "calls.jsonl"
        calls_file.write_text("")
        result = caller.cmd("state.show_sls", sls, pillar=copy.deepcopy(pillar_data))
        calls = [json.loads(line) for line in calls_file.read_text().splitlines()]
        if not isinstance(result, dict):
            return result, calls
        high = {}
        for state_id, body in result.items():
            for function, args in body.items():
                if isinstance(args, list) and not function.startswith("__"):
                    merged = {}
                    for arg in args:
                        if isinstance(arg, dict):
                            merged.update(arg)
                    high[state_id] = {"function": f"{function}.{next(a for a in args if isinstance(a, str))}",
                                      "args": merged}
        return high, calls

    return _render


def position(seqno, running=False, **extra):
    return dict({"uuid": U1, "seqno": seqno, "safe_to_bootstrap": 0, "recovered_uuid": None,
                 "recovered_seqno": None, "running": running, "cluster_status": None,
                 "gvwstate": None, "errors": []}, **extra)


def minions(values):
    return {m: {"ret": v, "retcode": 0} for m, v in values.items()}


# ------------------------------------------------------------------ recover
def test_recover_gathers_nothing_from_an_invalid_pillar(orch):
    broken = pillar()
    broken["hastack"]["secrets"]["galera_sst"] = "CHANGE_ME"
    high, calls = orch("orch.galera.recover", broken,
                       {"hastack_galera.position": minions({m: position(5) for m in ("ctl1", "ctl2", "ctl3")})})
    # No position was asked for: asking runs mariadbd --wsrep-recover on every member.
    assert calls == []
    assert list(high) == ["hastack-galera-recover-pillar-validated"]
    assert high["hastack-galera-recover-pillar-validated"]["args"]["failhard"] is True


def test_recover_asks_each_member_with_the_pillars_datadir_and_socket(orch):
    custom = pillar(datadir="/srv/mysql", socket="/srv/run/mysqld.sock")
    high, calls = orch("orch.galera.recover", custom, {"hastack_galera.position": minions(
        {"ctl1": position(10), "ctl2": position(12), "ctl3": position(11)})})
    assert calls == [{"tgt": ["ctl1", "ctl2", "ctl3"], "fun": "hastack_galera.position", "arg": [],
                      "kwarg": {"datadir": "/srv/mysql", "socket": "/srv/run/mysqld.sock"}}]
    text = high["hastack-galera-recover-decision"]["args"]["text"]
    assert text.startswith("Bootstrapping ctl2: ctl2 has the highest seqno (12).")
    assert "Then rejoining: ctl3, ctl1." in text and "ctl1: uuid " + U1 + " seqno 10" in text
    assert high["hastack-galera-recover-ctl2-bootstrapped"]["args"]["pillar"] == {
        "hastack": {"galera": {"bootstrap": True}}}
    assert high["hastack-galera-recover-ctl1-rejoined"]["args"]["require"] == [
        {"salt": "hastack-galera-recover-ctl3-rejoined"}]


def test_recover_renders_the_refusal_the_plan_wrote(orch):
    answers = {"hastack_galera.position": {"ctl1": {"ret": position(10), "retcode": 0},
                                           "ctl2": {"ret": position(12), "retcode": 0},
                                           "ctl3": "Minion did not return. [No response]"}}
    high, _ = orch("orch.galera.recover", pillar(), answers)
    refused = high["hastack-galera-recover-refused"]
    assert refused["function"] == "test.fail_without_changes"
    assert refused["args"]["comment"].startswith(
        "Galera recovery refused, nothing was changed: ctl3 did not answer")
    assert refused["args"]["comment"].endswith("ctl3: no answer")
    assert not [sid for sid in high if sid.endswith(("-bootstrapped", "-rejoined"))]
    # allow_partial from the command line's pillar, as a string or a bool.
    for flag in (True, "true"):
        high, _ = orch("orch.galera.recover", pillar(recover={"allow_partial": flag}), answers)
        assert "hastack-galera-recover-ctl2-bootstrapped" in high


# ------------------------------------------------------------------ deploy
def deploy_answers(has_state, running):
    return {"file.file_exists": minions(has_state), "service.status": minions(running)}


def galera_steps(high):
    return {sid: body for sid, body in high.items() if sid.startswith("hastack-deploy-galera-")}


def test_deploy_bootstraps_the_first_member_of_a_new_cluster(orch):
    fresh = dict.fromkeys(("ctl1", "ctl2", "ctl3"), False)
    high, calls = orch("orch.galera.deploy", pillar(), deploy_answers(fresh, fresh))
    assert [c["fun"] for c in calls] == ["file.file_exists", "service.status"]
    assert calls[0]["arg"] == ["/var/lib/mysql/grastate.dat"]
    steps = galera_steps(high)
    assert list(steps) == [f"hastack-deploy-galera-{m}-applied" for m in ("ctl1", "ctl2", "ctl3")]
    assert [s["args"]["pillar"]["hastack"]["galera"]["bootstrap"] for s in steps.values()] == [
        True, False, False]
    # Between the tier's markers of hastack.deploy.
    assert steps["hastack-deploy-galera-ctl1-applied"]["args"]["require"] == [
        {"test": "hastack-deploy-galera-started"}]
    assert steps["hastack-deploy-galera-ctl1-applied"]["args"]["require_in"] == [
        {"test": "hastack-deploy-galera-done"}]
    assert steps["hastack-deploy-galera-ctl3-applied"]["args"]["require"] == [
        {"salt": "hastack-deploy-galera-ctl2-applied"}]


def test_deploy_joins_a_running_member_and_refuses_an_outage(orch):
    state = dict.fromkeys(("ctl1", "ctl2", "ctl3"), True)
    high, _ = orch("orch.galera.deploy", pillar(),
                   deploy_answers(state, {"ctl1": False, "ctl2": True, "ctl3": False}))
    assert not any(s["args"]["pillar"]["hastack"]["galera"]["bootstrap"]
                   for s in galera_steps(high).values())
    high, _ = orch("orch.galera.deploy", pillar(),
                   deploy_answers(state, dict.fromkeys(("ctl1", "ctl2", "ctl3"), False)))
    assert list(galera_steps(high)) == ["hastack-deploy-galera-refused"]
    assert "hastack.galera.recover" in high["hastack-deploy-galera-refused"]["args"]["comment"]
