"""`hastack-lab verify`: the host checks of tests/integration (testinfra, the
same ones Test Kitchen's verifier runs) pass inside every host of the deployed
session lab, and fail, naming the service, when one of them is stopped."""

import re

from hastack_lab.lab import wait_until


def count(output, outcome):
    found = re.search(rf"(\d+) {outcome}", output)
    return int(found.group(1)) if found else 0


def passed(output):
    return count(output, "passed")


def test_verify_passes_on_every_host_with_the_checks_of_every_tier(lab):
    results = lab.verify()
    failed = {host: r["output"][-3000:] for host, r in results.items() if not r["ok"]}
    assert set(results) == set(lab.hosts) and not failed, failed
    for host, result in results.items():
        # A converged host carries every tier but the arbitrator: only garbd's check is left out.
        assert "arbitrator" not in lab.roles_of(host)
        assert passed(result["output"]) >= 18, (host, result["output"][-1500:])
        assert count(result["output"], "deselected") == 1, (host, result["output"][-1500:])


def test_verify_fails_and_names_a_stopped_service(lab):
    lab.exec("ctl2", ["/etc/init.d/memcached", "stop"])
    try:
        result = lab.verify(["ctl2"])["ctl2"]
        assert not result["ok"]
        assert "test_every_service_of_the_hosts_tiers_runs" in result["output"]
        assert "('memcached', 'memcached')" in result["output"], result["output"][-2000:]
        assert "test_memcached_listens_on_the_stack_ip_only" in result["output"]
    finally:
        rows = lab.apply("ctl2", "hastack.memcached.service")
        assert rows and all(r["result"] is True for r in rows), rows
    last = {}

    def passes_again():
        last.update(lab.verify(["ctl2"])["ctl2"])
        return last["ok"]
    try:
        wait_until(passes_again, 120, 2, "ctl2's checks to pass again")
    except Exception as exc:
        raise AssertionError(last.get("output", "")[-4000:]) from exc
