"""Every host count the lab accepts deploys a valid stack, or `up` refuses it
before it creates anything, with the formula's own validation messages."""

import pytest

from hastack_lab.lab import Lab, LabError


@pytest.mark.parametrize("count", range(1, 10))
def test_converged_layout_is_valid_from_three_hosts_on(count):
    lab = Lab(name="hslayout", subnet="10.248.0.0/24", host_count=count)
    roles = lab.layout_roles()
    problems = lab.layout_problems()
    if count < 3:
        assert problems and any("Galera voters" in p for p in problems), problems
        return
    assert problems == []
    # The voting roles sit on an odd number of hosts; every host serves the stateless tiers.
    for role in ("db", "mq", "swift_storage"):
        assert len(roles[role]) % 2 == 1 and len(roles[role]) in (count, count - 1), (role, roles[role])
    for role in ("lb", "api", "cache"):
        assert roles[role] == lab.hosts
    assert roles["arbitrator"] == []


def test_three_converged_hosts_carry_every_role_but_the_arbitrator():
    lab = Lab(name="hslayout", subnet="10.248.0.0/24", host_count=3)
    assert all(members == lab.hosts for role, members in lab.layout_roles().items() if role != "arbitrator")


def test_two_host_layout_is_valid():
    lab = Lab(name="hslayout", subnet="10.248.0.0/24", host_count=3, layout="two-host")
    assert lab.layout_problems() == []
    assert lab.layout_roles()["db"] == ["ctl1", "ctl2"]


def test_up_refuses_an_invalid_count_before_creating_anything(tmp_path, monkeypatch):
    lab = Lab(name="hslayout", subnet="10.248.0.0/24", host_count=2, say=lambda m: None)
    monkeypatch.setattr(Lab, "preflight", lambda self: None)  # no root or kernel checks needed here
    created = []
    monkeypatch.setattr(Lab, "cleanup_strays", lambda self, **kw: created.append("cleanup"))
    monkeypatch.setattr(Lab, "_ensure_bridge", lambda self: created.append("bridge"))
    with pytest.raises(LabError) as refused:
        lab.up(deploy=True)
    assert "converged layout on 2 host(s) is no valid stack" in str(refused.value)
    assert "too few Galera voters" in str(refused.value)
    assert created == [] and not lab.state_dir.exists()
