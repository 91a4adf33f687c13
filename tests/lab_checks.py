"""Checks of the lab's hosts that several test modules share (chaos, host loss)."""

import json
import time

from amqp_load import VHOST

from hastack_lab.lab import wait_until

RABBIT_PIDFILE = "/run/rabbitmq/pid"


def pids_of(lab, host, name):
    return lab.exec(host, ["pgrep", "-x", name], check=False).stdout.split()


def keystone_pids(lab, host):
    """uwsgi master and workers of keystone, by command line (api hosts may run other uwsgi services)."""
    proc = lab.exec(host, ["pgrep", "-f", "--", "--ini /etc/keystone/keystone-uwsgi.ini"], check=False)
    return sorted(proc.stdout.split())


def wsrep(lab, host):
    """Host's wsrep_% status variables ({} when its server does not answer)."""
    proc = lab.exec(host, ["mariadb", "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'wsrep_%'"],
                    check=False, timeout=30)
    return dict(line.split("\t") for line in proc.stdout.splitlines() if "\t" in line)


def galera_synced(lab, hosts=None, size=3):
    """Every one of hosts (default: all) Synced in a Primary Component of `size`."""
    for host in hosts or lab.hosts:
        status = wsrep(lab, host)
        if (status.get("wsrep_local_state") != "4" or status.get("wsrep_cluster_status") != "Primary"
                or int(status.get("wsrep_cluster_size", 0)) != size):
            return False
    return True


def rabbit_view(lab, host):
    """hastack_rabbitmq.status of host (None when it does not answer)."""
    view = lab.salt(host, "hastack_rabbitmq.status", "-t", "30").get(host)
    return view if isinstance(view, dict) else None


def rabbit_running(lab, host="ctl1"):
    """How many RabbitMQ nodes run, as host sees them (0 unless its view is healthy)."""
    view = rabbit_view(lab, host)
    return len(view["running"]) if view and view.get("healthy") else 0


def rabbit_app_running(lab, host):
    """Whether the rabbit application runs on host (False while pause_minority pauses it), without Salt."""
    proc = lab.exec(host, ["rabbitmqctl", "-q", "eval", "rabbit:is_running()."], check=False, timeout=30)
    return proc.stdout.strip() == "true"


def quorum_members(lab, host, queue):
    """The members of a quorum queue as host's broker lists them."""
    proc = lab.exec(host, ["rabbitmqctl", "-q", "list_queues", "-p", VHOST, "name", "members", "--formatter", "json"],
                    check=False, timeout=60)
    try:
        rows = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return []
    return sorted(next((row.get("members") or [] for row in rows if row.get("name") == queue), []))


def heals(log, cluster, since):
    """{heal_id: {phase: data}} of one cluster's heal events after `since`."""
    found = {}
    for _, tag, data in log.events(f"hastack/heal/{cluster}/", since):
        found.setdefault(data.get("heal_id"), {})[tag.rsplit("/", 1)[1]] = data
    return found


def heal_events(log, cluster, since, phase="", **match):
    """Data of the heal events of cluster after since (of one phase when given) matching `match`."""
    return [data for _, tag, data in log.events(f"hastack/heal/{cluster}/{phase}", since)
            if all(data.get(k) == v for k, v in match.items())]


def failed_orchestration_steps(lab, since):
    """Steps that failed in orchestrations the lab master ran after `since`
    (epoch), read from its job cache: what a failed heal event only points to.
    Each is "id: comment"; an assertion message shows why a heal failed."""
    import salt.payload  # the suite's venv has Salt; only this helper needs it

    jobs = lab.master_cache_dir / "jobs"
    found = []

    def walk(node):
        if not isinstance(node, dict):
            return
        for value in node.values():
            if isinstance(value, dict) and "result" in value and "__id__" in value:
                # A begin step fails by design when another heal holds the lock.
                if value["result"] is False and not value["__id__"].endswith("-begin"):
                    # salt.function keeps each minion's error in changes.ret, not in the comment.
                    detail = (value.get("changes") or {}).get("ret") or value.get("comment")
                    found.append(f"{value['__id__']}: {str(detail)[:400]}")
                walk(value.get("changes"))
            else:
                walk(value)

    for ret_file in sorted(jobs.glob("*/*/*/return.p")):
        if ret_file.stat().st_mtime < since:
            continue
        try:
            with open(ret_file, "rb") as handle:
                walk(salt.payload.load(handle))
        except Exception:  # a return being written right now
            continue
    return found


def assert_no_failed_heal(log, lab, cluster, since):
    failed = heal_events(log, cluster, since, phase="failed")
    assert not failed, {"failed heals": failed, "failed steps": failed_orchestration_steps(lab, since)}


def wait_whole(lab, timeout):
    """Wait until the whole stack serves (Lab.stack_problems empty); the problems left when it does not."""
    last = []

    def whole():
        last[:] = lab.stack_problems()
        return not last
    try:
        wait_until(whole, timeout, 5, "the whole stack healthy")
    except Exception as exc:
        raise AssertionError(f"stack not healthy after {timeout} s: {last}") from exc
    return time.time()
