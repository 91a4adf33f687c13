"""
hastack.deploy runs the tiers in their deploy order, and a failed tier stops
every tier after it: a value that passes validation but breaks HAProxy's
config leaves keepalived, memcached and RabbitMQ untouched, and the output
names the failed tier.
"""

import pytest

# Passes validation (the formula does not parse HAProxy time units) but
# `haproxy -c` rejects it, so the HAProxy tier fails on every lb host.
BROKEN_HAPROXY = {"hastack": {"haproxy": {"timeouts": {"connect": "five seconds"}}}}


def daemon_pids(lab):
    """PIDs of the daemons of the tiers after haproxy, per host."""
    pids = {}
    for host in lab.hosts:
        for name in ("keepalived", "memcached", "haproxy"):
            proc = lab.exec(host, ["pidof", "-s", name], check=False)
            pids[(host, name)] = proc.stdout.strip()
        # The broker's pid file: rabbitmqctl runs (the beacons' status checks) are beam.smp too.
        proc = lab.exec(host, ["cat", "/run/rabbitmq/pid"], check=False)
        pids[(host, "rabbitmq-server")] = proc.stdout.strip()
    return pids


@pytest.fixture
def broken_haproxy(lab):
    lab.set_pillar_override(BROKEN_HAPROXY)
    try:
        yield
    finally:
        lab.set_pillar_override(None)


def test_a_failed_tier_stops_every_tier_after_it(lab, broken_haproxy):
    before = daemon_pids(lab)
    assert all(before.values()), before
    result = lab.orchestrate("hastack.deploy")
    assert not result["ok"]
    steps = {step["id"]: step for step in result["steps"]}
    order = [step["id"] for step in result["steps"]]
    # The tiers before it ran and succeeded.
    assert steps["hastack-deploy-galera-done"]["result"]
    # The failed tier is named first among the errors.
    assert result["errors"][0].startswith("hastack-deploy-haproxy-applied:"), result["errors"]
    assert not steps["hastack-deploy-haproxy-done"]["result"]
    # Every later tier: its steps did not run (their requisite failed).
    for tier in ("keepalived", "memcached", "rabbitmq", "keystone", "horizon", "placement", "nova", "compute"):
        later = [i for i in order if i.startswith(f"hastack-deploy-{tier}-")]
        assert later, f"no steps of tier {tier} in {order}"
        for state_id in later:
            assert not steps[state_id]["result"] and "requisite failed" in steps[state_id]["comment"], steps[state_id]
    # Nothing was restarted, HAProxy kept its valid config and kept running.
    assert daemon_pids(lab) == before
    cfg = lab.exec("ctl1", ["cat", "/etc/haproxy/haproxy.cfg"]).stdout
    assert "five seconds" not in cfg


def test_deploy_after_the_fix_runs_every_tier_and_changes_nothing(lab):
    # Also the second deploy of a healthy stack: it restarts no daemon (no broker, no HAProxy).
    before = daemon_pids(lab)
    result = lab.orchestrate("hastack.deploy")
    assert result["ok"], result["errors"]
    order = [step["id"] for step in result["steps"]]
    done = [i.removeprefix("hastack-deploy-").removesuffix("-done") for i in order if i.endswith("-done")]
    assert done == ["galera", "haproxy", "keepalived", "memcached", "rabbitmq", "keystone", "horizon", "placement",
                    "nova", "compute"]
    assert [step["id"] for step in result["steps"] if step["changes"]] == []
    assert daemon_pids(lab) == before
    # Every API host's dry run predicted no change: none was taken out of HAProxy.
    assert [i for i in order if i.endswith("-drained")] == []
    unchanged = sorted(i for i in order if i.endswith("-unchanged"))
    assert unchanged == sorted(f"hastack-deploy-{tier}-{host}-unchanged"
                               for tier in ("keystone", "horizon", "placement", "nova") for host in lab.hosts)
