"""The two-host layout with a tie-breaker: ctl1 and ctl2 carry every tier, ctl3
only garbd (the Galera arbitrator) and the third RabbitMQ broker.

Runs in a lab of its own (its own name and subnet), beside the session lab.
"""

import json
import os
import sys
import time

import pytest
from commit_load import CommitLoad, missing_rows, prepare_probe_database

from hastack_lab import Lab
from hastack_lab.lab import wait_until

# Beside the session lab (tests/conftest.py): its name plus "2", another subnet.
NAME = os.environ.get("HASTACK_TEST_LAB_NAME", "hstest") + "2"
SUBNET = os.environ.get("HASTACK_TEST_LAB2_SUBNET", "10.249.0.0/24")
PROBE_DB = "hastack_probe"
FIGURES = {}


@pytest.fixture(scope="module")
def two_host():
    lab = Lab(name=NAME, subnet=SUBNET, host_count=3, layout="two-host",
              say=lambda msg: print(msg, file=sys.stderr))
    try:
        lab.up(deploy=True)
        yield lab
    finally:
        print("\nTwo-host figures: " + json.dumps(FIGURES, sort_keys=True))
        if os.environ.get("HASTACK_TEST_KEEP_LAB") != "1":
            lab.down()


def galera_view(lab, host):
    rows = lab.exec(host, ["mariadb", "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'wsrep_%'"],
                    check=False).stdout.splitlines()
    return dict(line.split("\t", 1) for line in rows if "\t" in line)


def primary_with(lab, hosts, size):
    views = [galera_view(lab, h) for h in hosts]
    return all(v.get("wsrep_cluster_status") == "Primary" and v.get("wsrep_local_state") == "4"
               and v.get("wsrep_cluster_size") == str(size) for v in views)


def test_layout_puts_only_tie_breakers_on_the_third_host(two_host):
    roles = {h: set(two_host.roles_of(h)) for h in two_host.hosts}
    assert roles["ctl3"] == {"arbitrator", "mq", "swift_storage"}
    assert "db" in roles["ctl1"] and "db" in roles["ctl2"] and "arbitrator" not in roles["ctl1"]


def test_status_shows_garbd_and_a_three_voter_cluster(two_host):
    rows = {r["host"]: r for r in two_host.status()["hosts"]}
    assert rows["ctl3"]["services"] == {"garb": True, "rabbitmq-server": True}, rows["ctl3"]["services"]
    for host in ("ctl1", "ctl2"):
        assert all(rows[host]["services"].values()), rows[host]["services"]
        assert "garb" not in rows[host]["services"]
        # Two data nodes plus garbd: three voters.
        assert rows[host]["facts"]["galera"]["summary"] == "Synced, cluster size 3, Primary"
    for host in two_host.hosts:
        assert rows[host]["facts"]["rabbitmq"]["summary"] == "3/3 running"
    assert two_host.exec("ctl3", ["pgrep", "-x", "mariadbd"], check=False).returncode != 0
    assert two_host.exec("ctl3", ["pgrep", "-x", "garbd"]).returncode == 0


def test_second_apply_changes_nothing(two_host):
    rows = two_host.apply("*")
    assert rows and all(r["result"] is True for r in rows), [r for r in rows if r["result"] is not True]
    assert [(r["minion"], r["id"]) for r in rows if r["changes"]] == []


def test_kill_of_a_data_node_under_commit_load_loses_no_acknowledged_commit(two_host):
    prepare_probe_database(two_host, "ctl2", PROBE_DB)
    load = CommitLoad(two_host, PROBE_DB)
    load.start()
    try:
        load.wait_for_acks(100)
        # ctl1 is HAProxy's Galera writer (first db member): kill it like a crash.
        killed_at = time.monotonic()
        two_host.crash("ctl1", "mysqld_safe", "mariadbd")
        acked_before = len(load.acks)
        load.wait_for_acks(acked_before + 200, timeout=120)
    finally:
        load.stop()
    gap = load.longest_gap(after=killed_at)
    FIGURES["commit_gap_after_kill9_of_writer_s"] = gap
    FIGURES["failed_commits"] = load.failures
    FIGURES["acknowledged_commits"] = len(load.acks)
    # ctl2 and garbd keep the quorum: 2 of 3 voters.
    assert primary_with(two_host, ["ctl2"], 2)
    assert missing_rows(two_host, PROBE_DB, load.acked()) == set()
    assert gap is not None and gap < 30, gap

    # A state run brings the node back; it rejoins by IST with every row.
    rows = two_host.apply("ctl1", "hastack.galera")
    assert all(r["result"] is True for r in rows), [r for r in rows if r["result"] is not True]
    wait_until(lambda: primary_with(two_host, ["ctl1", "ctl2"], 3), 120, 1, "ctl1 Synced with 3 voters")
    out = two_host.exec("ctl1", ["mariadb", "-N", "-B", "-e", f"SELECT COUNT(*) FROM {PROBE_DB}.t"]).stdout
    assert int(out) >= len(load.acks)


def test_verify_passes_on_every_host_including_the_tie_breaker(two_host):
    results = two_host.verify()
    failed = {host: r["output"][-3000:] for host, r in results.items() if not r["ok"]}
    assert set(results) == set(two_host.hosts) and not failed, failed
    # The tie-breaker's garbd check ran there (and only there).
    assert "passed" in results["ctl3"]["output"]
