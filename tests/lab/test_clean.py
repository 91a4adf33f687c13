"""hastack.clean on one host of the converged lab, then back into its clusters.

ctl3 gets `state.apply hastack.clean`: its services stop and the files the
formula wrote go, while ctl1 and ctl2 keep serving (Galera Primary with two
members, RabbitMQ with two running nodes, the VIP). The datadir stays (the
data-destroying flags are off). A state.apply of ctl3 then brings it back:
Galera size 3, three RabbitMQ nodes running. Measured times are printed at
the end of the module (pytest -s) and kept in CLEAN_TIMES.
"""

import json
import time

import pytest
from lab_checks import keystone_pids

from hastack_lab.lab import vip_holders, wait_until

HOST = "ctl3"
OTHERS = ("ctl1", "ctl2")
CLEAN_TIMES = {}
# Process name -> service, for every tier of a converged host.
DAEMONS = {"mariadbd": "mariadb", "beam.smp": "rabbitmq-server", "haproxy": "haproxy",
           "keepalived": "keepalived", "memcached": "memcached", "apache2": "apache2",
           "nova-conductor": "nova-conductor", "nova-scheduler": "nova-scheduler", "nova-compute": "nova-compute"}
CONFIGS = ["/etc/mysql/mariadb.conf.d/60-galera.cnf", "/etc/default/mariadb",
           "/etc/init.d/hastack-galera-health", "/etc/hastack/galera-health",
           "/etc/rabbitmq/rabbitmq.conf", "/etc/rabbitmq/rabbitmq-env.conf",
           "/etc/rabbitmq/enabled_plugins", "/var/lib/rabbitmq/.erlang.cookie",
           "/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf", "/etc/memcached.conf",
           "/etc/keystone/keystone.conf", "/etc/keystone/fernet-keys", "/etc/default/keystone",
           "/etc/placement/placement.conf", "/etc/default/placement-api", "/etc/nova/nova.conf",
           "/etc/default/nova-api", "/etc/nova/nova-compute.conf", "/etc/openstack-dashboard/secret_key",
           "/etc/apache2/sites-enabled/openstack-dashboard.conf",
           "/etc/sysctl.d/60-hastack.conf"]


def running(lab, host, name):
    return lab.exec(host, ["pgrep", "-x", name], check=False).returncode == 0


def health_running(lab, host):
    return lab.exec(host, ["pgrep", "-f", "galera-health"], check=False).returncode == 0


def exists(lab, host, path):
    return lab.exec(host, ["test", "-e", path], check=False).returncode == 0


def wsrep(lab, host):
    proc = lab.exec(host, ["mariadb", "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'wsrep_%'"], check=False)
    return dict(line.split("\t", 1) for line in proc.stdout.splitlines() if "\t" in line)


def galera_size(lab, hosts):
    """The cluster size every host in hosts reports as Synced and Primary, else None."""
    sizes = set()
    for host in hosts:
        status = wsrep(lab, host)
        if status.get("wsrep_local_state") != "4" or status.get("wsrep_cluster_status") != "Primary":
            return None
        sizes.add(status.get("wsrep_cluster_size"))
    return int(sizes.pop()) if len(sizes) == 1 else None


def rabbit_running(lab, host):
    view = lab.salt(host, "hastack_rabbitmq.status").get(host)
    return sorted(view["running"]) if isinstance(view, dict) else None


def failed(rows):
    return [(r["minion"], r["id"], r["comment"]) for r in rows if r["result"] is not True]


@pytest.fixture(scope="module", autouse=True)
def restore(lab):
    yield
    # Whatever happened, leave ctl3 in its clusters for the modules that follow.
    if galera_size(lab, lab.hosts) != 3 or rabbit_running(lab, "ctl1") != [f"rabbit@{h}" for h in lab.hosts]:
        lab.apply(HOST)
        wait_until(lambda: galera_size(lab, lab.hosts) == 3, 300, 1, "Galera size 3 after clean")
    print("\nClean times (s): " + json.dumps(CLEAN_TIMES, sort_keys=True))


def test_clean_takes_one_host_off_and_the_others_keep_serving(lab):
    assert galera_size(lab, lab.hosts) == 3
    assert rabbit_running(lab, "ctl1") == ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]

    started = time.monotonic()
    rows = lab.apply(HOST, "hastack.clean")
    CLEAN_TIMES["clean"] = round(time.monotonic() - started, 1)
    assert not failed(rows), failed(rows)
    # Reverse tier order, then common: the last tier applied goes first.
    tiers = []
    for row in rows:
        tier = row["id"].split("-")[1]
        if tier not in tiers:
            tiers.append(tier)
    # The auto-heal's beacons go first (they would report the services clean stops), then
    # the reverse of the deploy order (galera, haproxy, keepalived, memcached, rabbitmq, keystone,
    # horizon, placement, nova, compute).
    assert tiers == ["validate", "beacons", "compute", "nova", "placement", "horizon", "keystone", "rabbitmq",
                     "memcached", "keepalived", "haproxy", "galera", "common"]
    assert not lab.salt(HOST, "beacons.list", "return_yaml=False")[HOST], "beacons left after clean"

    # ctl3: nothing of the stack runs, the formula's files are gone, the data stays.
    assert {name: running(lab, HOST, name) for name in DAEMONS} == dict.fromkeys(DAEMONS, False)
    assert not health_running(lab, HOST)
    assert not keystone_pids(lab, HOST)
    assert not running(lab, HOST, "uwsgi_python311"), "an API service's uwsgi still runs"
    assert [p for p in CONFIGS if exists(lab, HOST, p)] == []
    assert exists(lab, HOST, "/var/lib/mysql/grastate.dat")
    assert exists(lab, HOST, "/var/lib/mysql/mysql")
    assert exists(lab, HOST, "/var/lib/rabbitmq/mnesia")

    # ctl1 and ctl2 keep serving.
    wait_until(lambda: galera_size(lab, OTHERS) == 2, 60, 0.5, "Galera Primary with 2")
    marker = f"while-clean-{time.time_ns()}"
    lab.exec("ctl1", ["mariadb", "-e", f"CREATE DATABASE IF NOT EXISTS hastack_cleantest; "
                                       "CREATE TABLE IF NOT EXISTS hastack_cleantest.t (v VARCHAR(64) PRIMARY KEY); "
                                       f"INSERT INTO hastack_cleantest.t VALUES ('{marker}')"])
    wait_until(lambda: rabbit_running(lab, "ctl1") == ["rabbit@ctl1", "rabbit@ctl2"], 60, 1,
               "RabbitMQ with 2 running")
    assert rabbit_running(lab, "ctl2") == ["rabbit@ctl1", "rabbit@ctl2"]
    holders = vip_holders(lab)
    assert len(holders) == 1 and holders[0] in OTHERS, holders
    for host in OTHERS:
        assert all(running(lab, host, name) for name in DAEMONS), host

    # A second clean finds nothing to do.
    again = lab.apply(HOST, "hastack.clean")
    assert not failed(again) and [r["id"] for r in again if r["changes"]] == []

    # Applying the formula again brings ctl3 back into both clusters.
    started = time.monotonic()
    rows = lab.apply(HOST)
    CLEAN_TIMES["reapply"] = round(time.monotonic() - started, 1)
    assert not failed(rows), failed(rows)
    wait_until(lambda: galera_size(lab, lab.hosts) == 3, 120, 0.5, "Galera size 3")
    rows = lab.exec(HOST, ["mariadb", "-N", "-B", "-e",
                           f"SELECT v FROM hastack_cleantest.t WHERE v = '{marker}'"]).stdout.split()
    assert rows == [marker]
    lab.exec("ctl1", ["mariadb", "-e", "DROP DATABASE hastack_cleantest"])
    wait_until(lambda: rabbit_running(lab, "ctl1") == ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"],
               120, 1, "RabbitMQ with 3 running")
    assert rabbit_running(lab, HOST) == ["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]
    assert {name: running(lab, HOST, name) for name in DAEMONS} == dict.fromkeys(DAEMONS, True)
    assert health_running(lab, HOST)
    assert keystone_pids(lab, HOST)
    assert [p for p in CONFIGS if not exists(lab, HOST, p)] == []
    # And a second apply of the restored host changes nothing.
    again = lab.apply(HOST)
    assert not failed(again) and [(r["id"], r["changes"]) for r in again if r["changes"]] == []
