"""
RabbitMQ cluster facts and safe membership changes for hastack.

Decisions (which cluster a node joins, whether a node may be forgotten) are
plain functions of parsed ``cluster_status`` data, unit-tested without a
broker; the Salt-facing functions only gather that data and act on it.
"""

import json
import logging

import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack_rabbitmq"


def __virtual__():
    if salt.utils.path.which("rabbitmqctl"):
        return __virtualname__
    return (False, "hastack_rabbitmq: rabbitmqctl not found (is rabbitmq-server installed?)")


# --------------------------------------------------------------------- pure


def _alarm_text(alarm):
    if isinstance(alarm, dict):
        parts = [str(alarm.get(k)) for k in ("node", "resource", "type") if alarm.get(k)]
        return ":".join(parts) or json.dumps(alarm, sort_keys=True)
    return str(alarm)


def parse_cluster_status(data):
    """
    Reduce ``rabbitmqctl cluster_status --formatter json`` to the facts hastack uses.

    Returns ``{cluster_name, members, disk_nodes, ram_nodes, running, stopped,
    partitions, alarms, healthy}``; ``healthy`` means every member runs, no
    partition is listed and no alarm is raised.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_rabbitmq.parse_cluster_status '{"disk_nodes": ["rabbit@ctl1"], ...}'
    """
    if isinstance(data, str):
        data = json.loads(data)
    disk = sorted(data.get("disk_nodes") or [])
    ram = sorted(data.get("ram_nodes") or [])
    members = sorted(set(disk) | set(ram))
    running = sorted(data.get("running_nodes") or [])
    partitions = {node: sorted(peers) for node, peers in (data.get("partitions") or {}).items() if peers}
    alarms = sorted(_alarm_text(a) for a in (data.get("alarms") or []))
    stopped = sorted(set(members) - set(running))
    return {
        "cluster_name": data.get("cluster_name"),
        "members": members,
        "disk_nodes": disk,
        "ram_nodes": ram,
        "running": running,
        "stopped": stopped,
        "partitions": partitions,
        "alarms": alarms,
        "healthy": not stopped and not partitions and not alarms,
    }


def choose_join_target(me, my_status, peer_statuses):
    """
    Decide which running peer ``me`` must join, or None when it is where it belongs.

    ``my_status`` is this node's parsed cluster status (None if its app is not
    running); ``peer_statuses`` maps peer node -> parsed status or None (down).
    Candidate clusters are those of running peers. The best one has the most
    running nodes; ties go to the cluster whose lowest member name is lowest,
    so two fresh standalone nodes agree without talking: rabbit@ctl2 joins
    rabbit@ctl1, never the other way round. A node already in the best
    cluster (listed by it and running with it) stays.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_rabbitmq.choose_join_target rabbit@ctl2 '{...}' '{"rabbit@ctl1": {...}}'
    """
    clusters = {}
    for peer, status in sorted(peer_statuses.items()):
        if not status or peer not in status["running"]:
            continue
        key = tuple(status["members"])
        clusters.setdefault(key, {"running": set(status["running"]), "via": peer})
    if my_status:
        clusters.setdefault(tuple(my_status["members"]),
                            {"running": set(my_status["running"]), "via": me})
    if not clusters:
        return None
    best_members, best = sorted(clusters.items(), key=lambda kv: (-len(kv[1]["running"]), kv[0]))[0]
    if me in best_members and my_status and me in best["running"]:
        return None
    return best["via"] if best["via"] != me else None


def check_forget(node, status):
    """
    Problems that forbid ``forget_cluster_node node`` given a member's parsed status.

    Returns a list of reasons (empty: safe). A running node must be stopped
    first (forgetting it would split the cluster); forgetting the last disc
    node would leave a cluster that cannot restart.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_rabbitmq.check_forget rabbit@ctl3 '{...}'
    """
    problems = []
    if node in status["running"]:
        problems.append(f"{node} is still running: stop it (or its host) before forgetting it")
    remaining_disk = [n for n in status["disk_nodes"] if n != node]
    if node in status["members"] and not remaining_disk:
        problems.append(f"forgetting {node} would leave the cluster without a disc node")
    return problems


# --------------------------------------------------------------- salt-facing


def _ctl(*args, node=None, check=True, timeout=60, secret=None):
    """
    Run rabbitmqctl. A ``secret`` (a password) goes to its stdin, never onto
    the command line (visible in every host's process list), and the call is
    not logged; error texts then carry only the command's first line.
    """
    cmd = ["rabbitmqctl"]
    if node:
        cmd += ["-n", node]
    cmd += list(args)
    kwargs = {}
    if secret is not None:
        # add_user, change_password and authenticate_user read the password
        # from stdin when it is left off their arguments.
        kwargs = {"stdin": f"{secret}\n", "output_loglevel": "quiet"}
    ret = __salt__["cmd.run_all"](cmd, python_shell=False, timeout=timeout,
                                  ignore_retcode=not check, **kwargs)
    if check and ret["retcode"] != 0:
        detail = ret["stderr"] or ret["stdout"]
        if secret is not None:
            detail = detail.replace(secret, "**********")
        raise CommandExecutionError(f"{' '.join(cmd)} failed: {detail}")
    return ret


def local_node():
    """
    This minion's RabbitMQ node name (rabbit@<short hostname> unless configured otherwise).

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_rabbitmq.local_node
    """
    return __salt__["hastack.mapdata"]()["rabbitmq"]["node"]


def status(node=None):
    """
    Parsed cluster status as seen by ``node`` (default: the local node), or None if it does not answer.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_rabbitmq.status
        salt ctl1 hastack_rabbitmq.status node=rabbit@ctl2
    """
    ret = _ctl("cluster_status", "--formatter", "json", node=node, check=False, timeout=30)
    if ret["retcode"] != 0:
        return None
    try:
        return parse_cluster_status(ret["stdout"])
    except ValueError:
        log.warning("unparsable cluster_status from %s: %s", node or "local node", ret["stdout"][:200])
        return None


def node_is_healthy(node, seen):
    """
    True when ``node`` runs in the cluster status ``seen`` (parsed) and that
    view lists no partition and no alarm. Other members may be down: this is
    the health of one node, e.g. after it was restarted.
    """
    return (isinstance(seen, dict) and node in (seen.get("running") or [])
            and not seen.get("partitions") and not seen.get("alarms"))


def is_healthy():
    """
    True when the local node runs in its cluster without partitions or alarms
    (the RabbitMQ tier's health function: a heal waits for it).

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_rabbitmq.is_healthy
    """
    return node_is_healthy(local_node(), status())


def is_member(node, of=None):
    """
    True when ``node`` is a member of the cluster as seen by ``of`` (default: local node).

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_rabbitmq.is_member rabbit@ctl3
    """
    seen = status(of)
    return bool(seen) and node in seen["members"]


def join(peer, timeout=120):
    """
    Make the local node a member of ``peer``'s cluster: stop_app, forget stale
    membership on the peer, reset, join_cluster, start_app, await startup.

    The local node's own data is discarded (reset): only call it for a node
    that is not part of the cluster it should belong to.

    CLI Example:

    .. code-block:: bash

        salt ctl2 hastack_rabbitmq.join rabbit@ctl1
    """
    me = local_node()
    _ctl("stop_app")
    peer_view = status(peer)
    if peer_view and me in peer_view["members"]:
        # The cluster still lists this node from before its reset: it must forget it first.
        _ctl("forget_cluster_node", me, node=peer)
    _ctl("reset")
    _ctl("join_cluster", peer, timeout=timeout)
    _ctl("start_app", timeout=timeout)
    _ctl("await_startup", "--timeout", str(timeout), timeout=timeout + 10)
    grow_queues(timeout=timeout)
    return status()


def grow_queues(timeout=120):
    """
    Make the local node a member of every quorum queue that lacks it
    (``rabbitmq-queues grow <node> all``, every vhost). Quorum queues never
    add a member by themselves: a queue declared while this node was out of
    the cluster (down, or forgotten and joined again) keeps fewer members, so
    losing one more node costs it its majority and a rolling restart refuses.
    Returns True.

    CLI Example:

    .. code-block:: bash

        salt ctl3 hastack_rabbitmq.grow_queues
    """
    me = local_node()
    ret = __salt__["cmd.run_all"](["rabbitmq-queues", "grow", me, "all"], python_shell=False,
                                  timeout=timeout, ignore_retcode=True)
    if ret["retcode"] != 0:
        raise CommandExecutionError(f"rabbitmq-queues grow {me} all failed: {ret['stderr'] or ret['stdout']}")
    return True


def forget(node):
    """
    Remove a dead ``node`` from the cluster, from this (running) member.

    Refuses (raises) when the node is still running or is the last disc node.
    Returns ``{"forgotten": bool, "comment": str}``; forgetting a node that is
    no member is a no-op.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_rabbitmq.forget rabbit@ctl3
    """
    seen = status()
    if seen is None:
        raise CommandExecutionError(f"local RabbitMQ node on {__grains__['id']} is not running")
    if node not in seen["members"]:
        return {"forgotten": False, "comment": f"{node} is not a member; nothing to forget"}
    problems = check_forget(node, seen)
    if problems:
        raise CommandExecutionError("refusing to forget: " + "; ".join(problems))
    _ctl("forget_cluster_node", node)
    return {"forgotten": True, "comment": f"{node} forgotten by {local_node()}"}


def user_exists(name):
    """
    True when the internal user ``name`` exists (users are cluster-wide).

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_rabbitmq.user_exists openstack
    """
    ret = _ctl("list_users", "--formatter", "json", "--quiet")
    return any(user.get("user") == name for user in json.loads(ret["stdout"] or "[]"))


def check_password(name, password):
    """
    True when ``name`` authenticates with ``password``. The password goes to
    rabbitmqctl on stdin: it never shows in the process list or the log.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_rabbitmq.check_password openstack "$(cat pw)"
    """
    ret = _ctl("authenticate_user", name, check=False, secret=password)
    return ret["retcode"] == 0


def set_password(name, password):
    """
    Create user ``name`` with ``password``, or change its password. The
    password goes to rabbitmqctl on stdin. Returns ``created`` or ``changed``.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_rabbitmq.set_password openstack "$(cat pw)"
    """
    if user_exists(name):
        _ctl("change_password", name, secret=password)
        return "changed"
    _ctl("add_user", name, secret=password)
    return "created"


def parse_permissions(data):
    """
    ``rabbitmqctl list_user_permissions --formatter json`` as
    ``{vhost: [configure, write, read]}``.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_rabbitmq.parse_permissions '[{"vhost": "openstack", "configure": ".*", ...}]'
    """
    if isinstance(data, str):
        data = json.loads(data or "[]")
    return {row["vhost"]: [row["configure"], row["write"], row["read"]] for row in data}


def permissions(name):
    """
    The permissions of user ``name``: ``{vhost: [configure, write, read]}``.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_rabbitmq.permissions openstack
    """
    ret = _ctl("list_user_permissions", name, "--formatter", "json", "--quiet")
    return parse_permissions(ret["stdout"])


def set_permissions(name, vhost, configure, write, read):
    """
    Grant user ``name`` the ``configure``, ``write`` and ``read`` patterns on ``vhost``.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_rabbitmq.set_permissions openstack openstack '.*' '.*' '.*'
    """
    _ctl("set_permissions", "-p", vhost, name, configure, write, read)
    return True
