"""The lab itself and the first real tier (memcached), end to end."""

import contextlib
import json
import os
import pathlib
import socket
import subprocess

import pytest

from hastack_lab import Lab, LabError
from hastack_lab.lab import REPO


def memcached_stats(ip, port=11211, timeout=3):
    with socket.create_connection((ip, port), timeout=timeout) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return dict(line.split(" ", 2)[1:] for line in data.decode().splitlines() if line.startswith("STAT "))


def machine_pid_of(lab, host, inner_pid):
    """Map a PID seen inside a host to the machine's PID via NSpid, checking the namespace."""
    host_pidns = os.readlink(f"/proc/{lab.init_pid(host)}/ns/pid")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = pathlib.Path(f"/proc/{entry}/status").read_text()
            pidns = os.readlink(f"/proc/{entry}/ns/pid")
        except OSError:
            continue
        nspid = next(line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:"))
        if pidns == host_pidns and nspid[-1] == str(inner_pid):
            return int(entry)
    return None


def test_minions_report_their_own_identity(lab):
    grains = lab.salt("*", "grains.item", "id", "host", "ipv4")
    assert sorted(grains) == lab.hosts
    for host in lab.hosts:
        assert grains[host]["host"] == host
        assert lab.host_ip(host) in grains[host]["ipv4"]
        assert not set(grains[host]["ipv4"]) & {lab.host_ip(h) for h in lab.hosts if h != host}
        assert lab.exec(host, ["hostname"]).stdout.strip() == host
        # Inside the host, PID 1 is the lab's init, not the machine's.
        assert "hastack_lab.hostinit" in lab.exec(host, ["cat", "/proc/1/cmdline"]).stdout


def test_memcached_runs_inside_each_host_on_its_ip_only(lab):
    for host in lab.hosts:
        inner_pid = int(lab.exec(host, ["cat", "/run/memcached.pid"]).stdout)
        outer_pid = machine_pid_of(lab, host, inner_pid)
        assert outer_pid is not None, f"memcached pid {inner_pid} is not in {host}'s PID namespace"
        assert pathlib.Path(f"/proc/{outer_pid}/exe").resolve().name == "memcached"
        # The daemon answering on the host's IP is that very process.
        stats = memcached_stats(lab.host_ip(host))
        assert stats["pid"] == str(inner_pid)
        assert int(stats["limit_maxbytes"]) == 32 * 1024 * 1024  # lab pillar override
        refused = lab.exec(host, ["python3", "-c",
                                  "import socket; socket.create_connection(('127.0.0.1', 11211), 2)"],
                           check=False)
        assert refused.returncode != 0 and "ConnectionRefused" in refused.stderr


def daemon_pids(lab):
    """Main pid of every long-running daemon of the stack, per host (what a restart would change)."""
    files = {"memcached": "/run/memcached.pid", "haproxy": "/run/haproxy.pid",
             "keepalived": "/run/keepalived.pid", "mariadbd": "/run/mysqld/mysqld.pid",
             "rabbitmq-server": "/run/rabbitmq/pid", "keystone": "/run/keystone/keystone.pid",
             "placement-api": "/run/placement/placement-api.pid", "apache2": "/run/apache2/apache2.pid",
             **{name: f"/run/nova/{name}.pid" for name in ("nova-api", "nova-api-metadata", "nova-conductor",
                                                           "nova-scheduler", "nova-compute")}}
    pids = {}
    for host in lab.hosts:
        for name, path in files.items():
            pids[(host, name)] = lab.exec(host, ["cat", path], check=False).stdout.strip()
    return pids


def test_second_apply_changes_nothing_and_restarts_nothing(lab):
    pids = daemon_pids(lab)
    assert all(pids.values()), [key for key, pid in pids.items() if not pid]
    rows = lab.apply("*")
    assert rows and all(r["result"] is True for r in rows), [r for r in rows if r["result"] is not True]
    assert {r["minion"] for r in rows} == set(lab.hosts)
    changed = [(r["minion"], r["id"], r["changes"]) for r in rows if r["changes"]]
    assert changed == []
    assert daemon_pids(lab) == pids
    # The highstate includes the auto-heal's beacons (their state is idempotent too).
    beacons = lab.salt("ctl1", "beacons.list", "return_yaml=False")["ctl1"]
    assert {"service", "hastack_galera", "hastack_rabbitmq"} <= set(beacons), beacons


def test_dry_run_reports_what_it_would_do_and_does_nothing(lab):
    lab.exec("ctl2", ["/etc/init.d/memcached", "stop"])
    try:
        rows = lab.apply("*", test=True)
        assert {r["minion"] for r in rows} == set(lab.hosts)
        pending = [(r["minion"], r["id"]) for r in rows if r["result"] is None]
        assert pending == [("ctl2", "hastack-memcached-service-running")], pending
        failed = [r for r in rows if r["result"] is False]
        assert failed == []
        # Nothing was started: the dry run only said it would.
        assert lab.exec("ctl2", ["/etc/init.d/memcached", "status"], check=False).returncode != 0
    finally:
        rows = lab.apply("ctl2", "hastack.memcached")
    assert [(r["id"], r["result"]) for r in rows if r["changes"]] == [("hastack-memcached-service-running", True)]


def test_deploy_with_broken_pillar_fails_before_any_change(lab):
    config = "/etc/memcached.conf"
    before = {h: lab.exec(h, ["stat", "-c", "%Y %s", config]).stdout for h in lab.hosts}
    broken = {"hastack": {"roles": {"loadbalancer": ["ctl1"]},
                          "secrets": {"db_nova": "CHANGE_ME"},
                          "memcached": {"memory_mb": 999}}}
    result = lab.orchestrate("hastack.deploy", pillar=broken)
    assert not result["ok"]
    errors = "\n".join(result["errors"])
    assert "unknown role 'loadbalancer'" in errors
    assert "hastack:secrets:db_nova is still CHANGE_ME" in errors
    ran = [s["id"] for s in result["steps"] if s["result"]]
    assert ran == [], f"steps ran despite invalid pillar: {ran}"
    assert all(s["changes"] == 0 for s in result["steps"])
    assert {h: lab.exec(h, ["stat", "-c", "%Y %s", config]).stdout for h in lab.hosts} == before


def test_status_reports_every_host_and_service(lab):
    env = dict(os.environ, HASTACK_LAB_NAME=lab.name, HASTACK_LAB_SUBNET=lab.subnet)
    proc = subprocess.run([str(REPO / "lab" / "hastack-lab"), "status", "--json"],
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    status = json.loads(proc.stdout)
    assert [row["host"] for row in status["hosts"]] == lab.hosts
    for row in status["hosts"]:
        assert row["running"] and row["minion"]
        assert row["services"] and all(row["services"].values()), row["services"]
        assert row["services"]["memcached"] is True
        for service in ("keystone", "placement-api", "nova-api", "nova-conductor", "nova-scheduler",
                        "nova-compute", "apache2"):
            assert row["services"][service] is True, service
        assert row["facts"]["rabbitmq"]["summary"] == "3/3 running"


# Its own name and subnet, derived like the session lab's so that two suites
# can run side by side.
SCRATCH_NAME = os.environ.get("HASTACK_TEST_LAB_NAME", "hstest") + "d"
SCRATCH_SUBNET = os.environ.get("HASTACK_TEST_SCRATCH_SUBNET", "10.252.0.0/24")


@pytest.fixture
def scratch_lab():
    """A one-host lab without deploy, for crash and teardown checks."""
    small = Lab(name=SCRATCH_NAME, subnet=SCRATCH_SUBNET, host_count=1, say=lambda m: None)
    yield small
    small.down()


def machine_traces(name):
    """Everything of lab `name` visible on the machine, found without the lab's own code."""
    traces = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    traces += [line for line in netns.splitlines() if line.startswith(f"{name}-")]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    traces += [line for line in links.splitlines() if f" {name}" in line]
    traces += [line for line in pathlib.Path("/proc/self/mountinfo").read_text().splitlines() if f"/{name}" in line]
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = pathlib.Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if f"hastack-lab/{name}".encode() in cmdline or f"--lab {name} ".encode() in cmdline:
                traces.append(f"process {entry}: {cmdline[:120]!r}")
                continue
            # A process that rewrote its whole title (salt-master's EventPublisher)
            # still writes to the lab's log.
            for fd in ("1", "2"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{entry}/fd/{fd}")
                    if f"/hastack-lab/{name}/" in target:
                        traces.append(f"process {entry} ({cmdline[:40]!r}) writes to {target}")
                        break
    return traces


def test_lab_survives_its_own_crash_and_down_leaves_nothing(scratch_lab):
    scratch_lab.up(deploy=False)
    assert machine_traces(SCRATCH_NAME)
    # Crash: kill -9 the host's init (the whole PID namespace dies) and the master.
    os.kill(scratch_lab.init_pid("ctl1"), 9)
    for pid in scratch_lab._master_pids():
        os.kill(pid, 9)
    # The next `up` finds the remains, cleans them and brings the host back.
    scratch_lab.up(deploy=False)
    assert scratch_lab.salt("ctl1", "test.ping") == {"ctl1": True}
    scratch_lab.down()
    assert machine_traces(SCRATCH_NAME) == []
    assert scratch_lab.leftovers() == []
    assert not scratch_lab.state_dir.exists()


def test_up_refuses_to_change_a_running_lab(lab):
    other = Lab(name=lab.name, subnet=lab.subnet, host_count=2, say=lambda m: None)
    with pytest.raises(LabError, match=r"running with 3 hosts .* run `hastack-lab down`"):
        other.up(deploy=False)
    # Nothing was touched: all three hosts still answer.
    assert lab.salt("*", "test.ping") == {h: True for h in lab.hosts}
