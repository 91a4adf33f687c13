"""A blackout: every host of the session lab loses power at once, under a commit
load, and boots again with an empty /run. `hastack-lab up` (the deploy after a
full stop) must stop at Galera, the first tier, name `hastack.galera.recover`
and start nothing after it; the recovery (one bootstrap, of the member with
the highest committed position) and a deploy then bring back the whole stack
with every acknowledged commit, and a highstate then changes nothing. This is
the lab's full-outage recovery test; the chaos suite has the healer's.

Marked `outage`: it takes the whole session lab down, so it runs last.
"""

import json
import time

import pytest
from commit_load import CommitLoad, missing_rows, prepare_probe_database

from hastack_lab.lab import LabError, vip_holders, wait_until

pytestmark = pytest.mark.outage

PROBE_DB = "hastack_blackout"
FIGURES = {}


def test_blackout_then_up_and_recover_brings_back_the_whole_stack(lab):
    assert lab.stack_problems() == []
    prepare_probe_database(lab, "ctl1", PROBE_DB)
    load = CommitLoad(lab, PROBE_DB)
    load.start()
    try:
        load.wait_for_acks(200)
        lab.poweroff()  # every host at the same instant, commits in flight
    finally:
        load.stop()
    acked = load.acked()
    assert len(acked) >= 200

    power_back = time.monotonic()
    with pytest.raises(LabError) as refused:
        lab.up(deploy=True)
    up_seconds = time.monotonic() - power_back
    FIGURES["up_after_blackout_s"] = round(up_seconds, 1)
    # The hosts rebooted: /run is empty, so nothing has created /run/mysqld yet.
    for host in lab.hosts:
        assert lab.exec(host, ["test", "-e", "/run/mysqld"], check=False).returncode != 0
    # The deploy names the recovery first, and did not wait on a broker's timeout.
    first_error = str(refused.value).split("\n")[1]
    assert first_error.startswith("hastack-deploy-galera-refused: Galera is down on every member")
    assert "full outage" in first_error
    assert "salt-run state.orch hastack.galera.recover" in first_error
    assert up_seconds < 400, f"up took {up_seconds:.0f}s: a broker waited for its peers?"
    # A failed tier stops every tier after it: nothing after Galera was started.
    assert "hastack-deploy-galera-done" in str(refused.value)
    status = {r["host"]: r for r in lab.status()["hosts"]}
    for host, row in status.items():
        assert not any(row["services"].values()), (host, row["services"])
    assert vip_holders(lab) == []

    recovered = lab.orchestrate("hastack.galera.recover")
    assert recovered["ok"], recovered["errors"]
    # Exactly one member bootstrapped: the one holding the highest committed position.
    assert len([s["id"] for s in recovered["steps"] if s["id"].endswith("-bootstrapped")]) == 1
    steps = {s["id"]: s for s in recovered["steps"]}
    assert "highest seqno" in steps["hastack-galera-recover-decision"]["comment"]
    # With Galera back, the deploy brings up every tier after it (the VIP too).
    deploy = lab.orchestrate("hastack.deploy")
    assert deploy["ok"], deploy["errors"]
    wait_until(lambda: lab.stack_problems() == [], 120, 1, "the whole stack after the recovery")
    FIGURES["power_back_to_whole_stack_s"] = round(time.monotonic() - power_back, 1)
    assert missing_rows(lab, PROBE_DB, acked) == set()

    # Converged: a highstate changes nothing (that a deploy of a converged
    # stack changes nothing is test_deploy_order's).
    rows = lab.apply("*")
    assert rows and all(r["result"] is True for r in rows), [r for r in rows if r["result"] is not True]
    assert [(r["minion"], r["id"]) for r in rows if r["changes"]] == []
    lab.exec("ctl1", ["mariadb", "-e", f"DROP DATABASE IF EXISTS {PROBE_DB}"])
    print("\nBlackout figures: " + json.dumps(FIGURES, sort_keys=True))
