"""LB tier: one VIP moved by keepalived, HAProxy in front of Galera, fast detection, drain."""

import time

import pymysql
import pytest

from hastack_lab.lab import vip_holders


def only_holder(lab):
    holders = vip_holders(lab)
    assert len(holders) == 1, f"VIP held by {holders}"
    return holders[0]


def wait_for(predicate, timeout, what, interval=0.05):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        value = predicate()
        if value:
            return time.monotonic() - start, value
        time.sleep(interval)
    raise AssertionError(f"{what} not within {timeout}s")


def db_host_via_vip(lab, timeout=2):
    """Which MariaDB answers a fresh connection to VIP:3306 (None if none does)."""
    try:
        conn = pymysql.connect(host=lab.vip, user="keystone", password=lab.secret("db_keystone"),
                               database="keystone", connect_timeout=timeout, read_timeout=timeout)
    except pymysql.err.MySQLError:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@hostname")
            return cur.fetchone()[0]
    except pymysql.err.MySQLError:
        return None
    finally:
        conn.close()


def pidfile(lab, host, path):
    return lab.exec(host, ["cat", path], check=False).stdout.strip()


def heal(lab, host):
    rows = lab.apply(host)
    assert all(r["result"] for r in rows), [r for r in rows if not r["result"]]


def galera_backends_all_up(lab):
    """Every HAProxy sees every Galera server UP (a partitioned node rejoins after its link returns)."""
    views = lab.salt("-L", ",".join(lab.hosts), "hastack_haproxy.servers", "galera")
    return all(isinstance(rows, list) and rows and all(r["status"] == "UP" for r in rows)
               for rows in views.values()) and len(views) == len(lab.hosts)


@pytest.fixture
def healthy_lb(lab):
    """Each test starts and ends with one VIP holder and every Galera server UP behind it."""
    wait_for(lambda: len(vip_holders(lab)) == 1, 30, "a single VIP holder")
    wait_for(lambda: galera_backends_all_up(lab), 120, "every Galera server UP", interval=1)
    yield
    wait_for(lambda: len(vip_holders(lab)) == 1, 30, "a single VIP holder")
    wait_for(lambda: galera_backends_all_up(lab), 120, "every Galera server UP", interval=1)


def test_vip_on_one_host_and_mariadb_answers_through_it_from_every_host(lab, healthy_lb):
    holder = only_holder(lab)
    for host in lab.hosts:
        out = lab.exec(host, ["mariadb", "-h", lab.vip, "-u", "keystone", f"-p{lab.secret('db_keystone')}",
                              "-N", "-B", "-e", "SELECT @@hostname"]).stdout.strip()
        assert out == "ctl1", "one writer: the first db host serves every connection"
    # HAProxy (VIP:3306) and MariaDB (host IP:3306) share the holder without a clash.
    listeners = lab.exec(holder, ["ss", "-Hltnp"]).stdout
    assert f"{lab.vip}:3306" in listeners and f"{lab.host_ip(holder)}:3306" in listeners
    assert "0.0.0.0:3306" not in listeners and "*:3306" not in listeners


def test_kill_keepalived_on_holder_moves_the_vip(lab, healthy_lb):
    holder = only_holder(lab)
    lab.exec(holder, ["pkill", "-9", "-x", "keepalived"])
    took, new = wait_for(lambda: [h for h in vip_holders(lab) if h != holder], 10, "VIP takeover")
    print(f"VIP takeover after kill -9 keepalived: {took:.2f}s ({holder} -> {new[0]})")
    assert took <= 1.5
    assert db_host_via_vip(lab) is not None
    heal(lab, holder)  # keepalived starts again, drops its stale VIP, stays BACKUP (nopreempt)


def test_kill_haproxy_on_holder_moves_the_vip(lab, healthy_lb):
    holder = only_holder(lab)
    lab.exec(holder, ["pkill", "-9", "-x", "haproxy"])
    took, new = wait_for(lambda: [h for h in vip_holders(lab) if h != holder], 10, "VIP takeover")
    print(f"VIP takeover after kill -9 haproxy (track_script): {took:.2f}s ({holder} -> {new[0]})")
    assert took <= 2.5
    assert holder not in vip_holders(lab), "a host without HAProxy keeps the VIP"
    assert wait_for(lambda: db_host_via_vip(lab), 5, "MariaDB through the new holder")
    heal(lab, holder)


def test_link_down_on_holder_moves_the_vip(lab, healthy_lb):
    holder = only_holder(lab)
    lab.set_link(holder, up=False)
    try:
        took, new = wait_for(lambda: [h for h in vip_holders(lab) if h != holder], 10, "VIP takeover")
        print(f"VIP takeover after link down: {took:.2f}s ({holder} -> {new[0]})")
        assert took <= 1.5
        assert wait_for(lambda: db_host_via_vip(lab), 5, "MariaDB through the new holder")
    finally:
        lab.set_link(holder, up=True)


def test_dead_writer_is_replaced_within_the_detection_bound(lab, healthy_lb):
    assert db_host_via_vip(lab) == "ctl1"
    lab.exec("ctl1", ["pkill", "-9", "-x", "mariadbd"])
    took, answer = wait_for(lambda: db_host_via_vip(lab, timeout=1), 10, "a working connection through the VIP")
    print(f"Galera writer death: connections through the VIP work again after {took:.2f}s (served by {answer})")
    assert took <= 2.5
    heal(lab, "ctl1")
    wait_for(lambda: db_host_via_vip(lab) == "ctl1", 60, "ctl1 back as the writer")


def test_drain_sends_new_connections_elsewhere_and_ready_brings_them_back(lab, healthy_lb):
    lb_hosts = ",".join(lab.hosts)
    assert db_host_via_vip(lab) == "ctl1"
    drained = lab.salt("-L", lb_hosts, "hastack_haproxy.drain_host", "ctl1")
    assert all("galera" in backends for backends in drained.values()), drained
    assert {db_host_via_vip(lab) for _ in range(5)} == {"ctl2"}
    ready = lab.salt("-L", lb_hosts, "hastack_haproxy.ready_host", "ctl1")
    assert all("galera" in backends for backends in ready.values()), ready
    up = lab.salt("-L", lb_hosts, "hastack_haproxy.wait_up", "ctl1", "timeout=30")
    assert all(isinstance(v, float) for v in up.values()), up
    assert db_host_via_vip(lab) == "ctl1"


def test_rolling_change_drains_applies_and_restores_a_host(lab, healthy_lb):
    result = lab.orchestrate("hastack.lb.rolling", pillar={"node": "ctl2", "sls": "hastack.memcached"})
    assert result["ok"], result["errors"]
    order = [s["id"] for s in result["steps"]]
    assert order.index("hastack-rolling-ctl2-drained") < order.index("hastack-rolling-ctl2-applied") \
        < order.index("hastack-rolling-ctl2-ready") < order.index("hastack-rolling-ctl2-healthy")
    states = lab.salt("-L", ",".join(lab.hosts), "hastack_haproxy.servers", "galera")
    for host, rows in states.items():
        assert {r["server"]: r["status"] for r in rows}["ctl2"] == "UP", (host, rows)
    refused = lab.orchestrate("hastack.lb.rolling", pillar={"node": "nosuch"})
    assert not refused["ok"] and "pillar node must be a stack minion" in "\n".join(refused["errors"])
