"""Keystone behind the VIP, as a user of the cloud meets it.

All requests go through the VIP (HAProxy) unless a test asks one host
directly on purpose (a token issued through one host must validate on the
others). A client issuing tokens in a loop counts the requests that failed
while one keystone is stopped, while `hastack.rollout` re-applies every api
host one at a time, and while the keys rotate. Durations and counts are
printed (run with -s).
"""

import time

import pytest
from keystone_load import ADMIN_SECRET, TokenLoad, get, issue_token, keystone_url, validate_token
from lab_checks import keystone_pids

from hastack_lab.lab import wait_until

FIGURES = {}


def api_hosts(lab):
    return [h for h in lab.hosts if "api" in lab.roles_of(h)]


def haproxy_status(lab, lb, backend, server):
    """HAProxy's status of `server` in `backend` on load balancer `lb` (UP, DOWN, MAINT...)."""
    proc = lab.exec(lb, ["sh", "-c", "echo 'show stat' | socat stdio UNIX-CONNECT:/run/haproxy/admin.sock"],
                    check=False)
    for line in proc.stdout.splitlines():
        fields = line.split(",")
        if len(fields) > 17 and fields[0] == backend and fields[1] == server:
            return fields[17]
    return None


@pytest.fixture(scope="module")
def admin(lab):
    password = lab.secret(ADMIN_SECRET)
    token, body = issue_token(keystone_url(lab), password)
    return {"password": password, "token": token, "body": body}


@pytest.fixture(scope="module", autouse=True)
def print_figures():
    yield
    for name, value in FIGURES.items():
        print(f"[keystone] {name}: {value}")


def test_admin_token_through_the_vip_lists_identity_at_the_vip(lab, admin):
    catalog = admin["body"]["catalog"]
    identity = [s for s in catalog if s["type"] == "identity"]
    assert len(identity) == 1
    urls = {e["interface"]: e["url"] for e in identity[0]["endpoints"]}
    assert urls == {i: keystone_url(lab) for i in ("public", "internal", "admin")}
    endpoints = get(keystone_url(lab), admin["token"], "/endpoints")["endpoints"]
    assert sorted(e["interface"] for e in endpoints if e["url"] == keystone_url(lab)) == [
        "admin", "internal", "public"]


def test_a_token_issued_through_one_host_validates_on_every_host(lab, admin):
    hosts = api_hosts(lab)
    assert len(hosts) >= 2
    for issuer in hosts:
        token, _ = issue_token(keystone_url(lab, lab.host_ip(issuer)), admin["password"])
        for validator in hosts:
            status = validate_token(keystone_url(lab, lab.host_ip(validator)), admin["token"], token)
            assert status == 200, f"a token of {issuer} answered {status} on {validator}"
    # A token keystone never issued is refused (the check above can fail).
    assert validate_token(keystone_url(lab), admin["token"], token[:-4] + "AAAA") in (401, 404)


def test_one_keystone_stopped_requests_through_the_vip_keep_succeeding(lab):
    host = api_hosts(lab)[-1]
    load = TokenLoad(lab, interval=0.05, max_seconds=180)
    load.start()
    try:
        load.wait_for_tokens(10)
        lab.exec(host, ["/etc/init.d/keystone", "stop"])
        wait_until(lambda: not keystone_pids(lab, host), 30, 0.2, f"keystone on {host} to stop")
        wait_until(lambda: haproxy_status(lab, host, "keystone", host) == "DOWN", 30, 0.2,
                   f"HAProxy to mark keystone on {host} down")
        stopped = len(load.issued)
        load.wait_for_tokens(stopped + 40, timeout=60)
    finally:
        load.stop()
        lab.apply(host, "hastack.keystone.service")
    FIGURES["one keystone stopped"] = (f"{len(load.issued)} tokens, {len(load.failures)} failed, "
                                       f"longest gap {load.longest_gap()} s")
    assert load.failures == []
    wait_until(lambda: haproxy_status(lab, host, "keystone", host) == "UP", 60, 0.5,
               f"keystone on {host} back in HAProxy")


def test_rollout_under_a_token_loop_fails_no_request_and_restarts_each_host_once_drained(lab):
    before = {h: keystone_pids(lab, h) for h in api_hosts(lab)}
    # A config change the rollout must carry to every host: one more uwsgi thread.
    lab.set_pillar_override({"hastack": {"keystone": {"uwsgi": {"threads": 9}}}})
    load = TokenLoad(lab, interval=0.05, max_seconds=600)
    load.start()
    try:
        load.wait_for_tokens(10)
        started = time.monotonic()
        result = lab.orchestrate("hastack.rollout", timeout=900)
        took = round(time.monotonic() - started, 1)
        after_rollout = len(load.issued)
        load.wait_for_tokens(after_rollout + 10)
    finally:
        load.stop()
    FIGURES["rollout"] = (f"{took} s, {len(load.issued)} tokens, {len(load.failures)} failed, "
                          f"longest gap {load.longest_gap()} s")
    assert result["ok"], result["errors"]
    assert load.failures == []
    for host in api_hosts(lab):
        ini = lab.exec(host, ["cat", "/etc/keystone/keystone-uwsgi.ini"]).stdout
        assert "threads = 9" in ini
        assert keystone_pids(lab, host) and keystone_pids(lab, host) != before[host], f"{host} not restarted"
    # Back to the deployed setting. No client runs now, so every api host at once
    # (a second rollout would take minutes and prove nothing new).
    lab.set_pillar_override(None)
    rows = lab.apply(",".join(api_hosts(lab)), "hastack.keystone", tgt_type="list")
    assert rows and all(r["result"] is True for r in rows), [r for r in rows if r["result"] is not True]
    for host in api_hosts(lab):
        assert "threads = 9" not in lab.exec(host, ["cat", "/etc/keystone/keystone-uwsgi.ini"]).stdout
    wait_until(lambda: all(haproxy_status(lab, h, "keystone", h) == "UP" for h in api_hosts(lab)), 120, 1,
               "every keystone back in HAProxy")


def test_rotation_keeps_earlier_tokens_valid_and_refuses_a_skipped_generation(lab, admin):
    hosts = api_hosts(lab)
    earlier, _ = issue_token(keystone_url(lab), admin["password"])
    rotated = {"hastack": {"keystone": {"fernet_tokens": {"generation": 2}, "credential": {"generation": 2}}}}
    try:
        lab.set_pillar_override(rotated)
        result = lab.orchestrate("hastack.keystone.rotate", timeout=600)
        assert result["ok"], result["errors"]
        later, _ = issue_token(keystone_url(lab), admin["password"])
        for host in hosts:
            url = keystone_url(lab, lab.host_ip(host))
            assert lab.exec(host, ["ls", "/etc/keystone/fernet-keys"]).stdout.split() == ["0", "1", "2"]
            assert validate_token(url, later, earlier) == 200, f"an earlier token is refused on {host}"
            assert validate_token(url, earlier, later) == 200, f"a rotated token is refused on {host}"
        # Two generations at once would drop the key of `earlier`: refused before any key changes.
        keys_before = lab.exec(hosts[0], ["sh", "-c", "cat /etc/keystone/fernet-keys/*"]).stdout
        lab.set_pillar_override({"hastack": {"keystone": {"fernet_tokens": {"generation": 4}}}})
        refused = lab.orchestrate("hastack.keystone.rotate", timeout=600)
        assert not refused["ok"]
        assert "one generation at a time" in "\n".join(refused["errors"])
        assert lab.exec(hosts[0], ["sh", "-c", "cat /etc/keystone/fernet-keys/*"]).stdout == keys_before
    finally:
        # The deployed generation again (a plain apply may step back; the
        # keys of both generations' tokens stay held).
        lab.set_pillar_override(None)
        lab.apply(",".join(hosts), "hastack.keystone.keys", tgt_type="list")
    assert validate_token(keystone_url(lab), admin["token"], earlier) == 200
