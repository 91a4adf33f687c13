"""
Rolling restarts for hastack: one member at a time, the next one only after
the cluster is whole again.

The orchestrations ``hastack.galera.restart`` and ``hastack.rabbitmq.restart``
gather every member's status while rendering and ask the pure plan functions
(``galera_restart_plan``, ``rabbitmq_restart_plan``) whether a rolling restart
may start and in which order. The plans run on the master, which needs neither
MariaDB nor RabbitMQ. Each member is then restarted by ``galera_restart`` or
``rabbitmq_restart`` on its own minion: they check the cluster is healthy
before they stop anything, restart the service, and return only when the node
is back and the cluster is whole; otherwise they raise, which fails the
orchestration step and stops the rollout.
"""

import os
import re
import time

from salt.exceptions import CommandExecutionError

__virtualname__ = "hastack_rolling"

# wsrep_local_state 4 = Synced.
SYNCED_STATE = "4"


def __virtual__():
    # Pure plans run on the master; the restart functions check their tools.
    return __virtualname__


# --------------------------------------------------------------------- pure


def _answers(raw, members):
    """
    ``{member: value}`` from a ``saltutil.cmd`` return (``{minion: {"ret": ...}}``)
    or a plain mapping; a member that did not answer, or answered with
    something that is not a dict (an error text), maps to None.
    """
    raw = raw if isinstance(raw, dict) else {}
    found = {}
    for member in members:
        value = raw.get(member)
        if isinstance(value, dict) and "ret" in value and ("retcode" in value or len(value) == 1):
            value = value["ret"]
        found[member] = value if isinstance(value, dict) and value else None
    return found


def _synced(status):
    return (
        str(status.get("wsrep_local_state", "")).strip() == SYNCED_STATE
        and str(status.get("wsrep_ready", "")).strip().upper() == "ON"
        and str(status.get("wsrep_cluster_status", "")).strip() == "Primary"
    )


def _size(status):
    try:
        return int(str(status.get("wsrep_cluster_size", "")).strip())
    except ValueError:
        return 0


def _refuse(reason):
    return {"ok": False, "reason": reason, "order": [], "size": 0}


def writers_of(servers):
    """
    The members HAProxy sends writes to: the servers of the Galera backend
    that are not ``backup`` (map.jinja's ``haproxy.backends.galera.servers``,
    ``[{"name", "backup"}, ...]``). With ``writers: all`` every server is one.

    CLI Example:

    .. code-block:: bash

        salt-call hastack_rolling.writers_of '[{"name": "ctl1", "backup": false}]'
    """
    return [s["name"] for s in servers or [] if isinstance(s, dict) and not s.get("backup")]


def galera_restart_plan(statuses, members, arbitrators=None, servers=None):
    """
    Decide whether a rolling restart of the Galera members may start, and
    their order.

    ``statuses`` maps each member to its ``hastack_galera.status`` dict (raw
    ``saltutil.cmd`` returns accepted; a member missing or answering with an
    error did not answer). ``members`` lists the db members in pillar order.
    ``arbitrators`` are the garbd minions: a whole cluster has one member per
    db member and arbitrator. ``servers`` are the Galera backend's servers
    (see ``writers_of``).

    Refuses (``ok`` False, ``reason`` says why) unless every member answers,
    is Synced, ready and in the Primary component, sees the whole cluster
    (``wsrep_cluster_size`` == ``size``), and all share one cluster state UUID:
    restarting a member of a degraded cluster can cost the quorum.

    The order is the member order with the HAProxy writer(s) moved to the
    end, so writes move away from the writer once (and back) rather than
    following every restart.

    Returns ``{"ok", "reason", "order", "size"}``; ``size`` is the cluster
    size each restarted member must see again.

    CLI Example:

    .. code-block:: bash

        salt-call hastack_rolling.galera_restart_plan \
            '{"ctl1": {"wsrep_local_state": "4", ...}}' '["ctl1", "ctl2", "ctl3"]' '[]'

    """
    members = list(dict.fromkeys(members or []))
    if not members:
        return _refuse("There are no db members to restart.")
    size = len(members) + len(list(dict.fromkeys(arbitrators or [])))
    found = _answers(statuses, members)
    silent = [m for m in members if found[m] is None]
    if silent:
        return _refuse(
            f"{', '.join(silent)} did not report its wsrep status (minion down or MariaDB "
            "not running): a rolling restart needs every member Synced first."
        )
    unsynced = [
        f"{m} ({found[m].get('wsrep_local_state_comment', '?')}, "
        f"{found[m].get('wsrep_cluster_status', '?')})"
        for m in members if not _synced(found[m])
    ]
    if unsynced:
        return _refuse(
            f"Not every member is Synced in the Primary component: {', '.join(unsynced)}; "
            "restarting one now could cost the cluster its quorum."
        )
    partial = [f"{m} sees {_size(found[m])}" for m in members if _size(found[m]) != size]
    if partial:
        return _refuse(
            f"The cluster is not whole (expected size {size}): {', '.join(partial)}."
        )
    uuids = {found[m].get("wsrep_cluster_state_uuid") for m in members}
    if len(uuids) != 1:
        return _refuse(f"The members report different cluster state UUIDs: {sorted(map(str, uuids))}.")
    writers = [w for w in writers_of(servers) if w in members]
    order = [m for m in members if m not in writers] + writers
    reason = f"Every member is Synced in a Primary component of size {size}; restart order: {', '.join(order)}"
    if writers and len(writers) < len(members):
        reason += f" (writer {', '.join(writers)} last)"
    return {"ok": True, "reason": reason + ".", "order": order, "size": size}


def rabbitmq_restart_plan(statuses, members, node_prefix="rabbit"):
    """
    Decide whether a rolling restart of the brokers may start, and their order.

    ``statuses`` maps each mq minion to its ``hastack_rabbitmq.status``
    (parsed ``cluster_status``; raw ``saltutil.cmd`` returns accepted; None or
    missing = not running / no answer). ``members`` lists the mq minions.

    Refuses unless every broker answers and each sees every member node
    (``<node_prefix>@<minion>``) in the cluster and running, with no
    partition and no alarm.

    Returns ``{"ok", "reason", "order"}``; the order is ``members``' order.

    CLI Example:

    .. code-block:: bash

        salt-call hastack_rolling.rabbitmq_restart_plan '{"ctl1": {...}}' '["ctl1", "ctl2", "ctl3"]'
    """
    members = list(dict.fromkeys(members or []))
    if not members:
        return _refuse("There are no mq members to restart.")
    found = _answers(statuses, members)
    silent = [m for m in members if found[m] is None]
    if silent:
        return _refuse(
            f"{', '.join(silent)} did not report its cluster status (minion down or broker "
            "not running): a rolling restart needs every broker running first."
        )
    nodes = sorted(f"{node_prefix}@{m}" for m in members)
    problems = []
    for member in members:
        view = found[member]
        missing = sorted(set(nodes) - set(view.get("running") or []))
        if missing:
            problems.append(f"{member} does not see {', '.join(missing)} running")
        if view.get("partitions"):
            problems.append(f"{member} reports partitions {view['partitions']}")
        if view.get("alarms"):
            problems.append(f"{member} reports alarms {', '.join(view['alarms'])}")
    if problems:
        return _refuse("The RabbitMQ cluster is not whole: " + "; ".join(problems) + ".")
    return {"ok": True, "order": members,
            "reason": f"Every broker runs in one cluster without partitions; restart order: "
                      f"{', '.join(members)}."}


def state_transfer(log_text):
    """
    How a restarted Galera node caught up, from the error log lines it wrote
    since it started: ``"SST"`` (a full copy was made), ``"IST"``
    (incremental, from a donor's gcache) or ``"none"`` (nothing was missed).

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_rolling.state_transfer "$(tail -n 200 /var/log/mysql/error.log)"
    """
    text = log_text or ""
    # The SST scripts end with "<method> SST|IST completed on joiner". Galera
    # itself logs "SST received" also when the script only bypassed to IST,
    # so that line proves nothing.
    if re.search(r"\bSST completed on joiner", text):
        return "SST"
    if re.search(r"\bIST completed on joiner|IST received", text):
        return "IST"
    return "none"


# --------------------------------------------------------------- salt-facing


def _log_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _log_since(path, offset):
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _galera_view():
    """(status dict or None, error text)."""
    try:
        return __salt__["hastack_galera.status"](), None
    except CommandExecutionError as exc:
        return None, str(exc)


def _describe(status):
    if not status:
        return "no status"
    return (f"{status.get('wsrep_local_state_comment', '?')}, {status.get('wsrep_cluster_status', '?')}, "
            f"cluster size {status.get('wsrep_cluster_size', '?')}")


def galera_restart(service="mariadb", size=None, timeout=300, log_error="/var/log/mysql/error.log"):
    """
    Restart this Galera member and wait until it is back in the cluster.

    Refuses (raises, nothing restarted) unless this node is Synced in a
    Primary component that has ``size`` members (default: its current size).
    Restarts ``service``, then waits at most ``timeout`` seconds until the node
    is Synced again, ready, Primary, and the cluster size is ``size`` again.
    Raises when it is not. The error log lines written since the restart tell
    how it caught up (``state_transfer``).

    Returns ``{"seconds", "transfer", "status"}``; ``status`` is the
    ``wsrep_local_state_comment``, cluster status and size at the end.

    CLI Example:

    .. code-block:: bash

        salt ctl2 hastack_rolling.galera_restart size=3 timeout=300
    """
    before, error = _galera_view()
    if before is None:
        raise CommandExecutionError(f"refusing to restart: cannot read the wsrep status ({error})")
    size = int(size) if size else _size(before)
    if not _synced(before) or _size(before) != size:
        raise CommandExecutionError(
            f"refusing to restart: this node is not Synced in a whole Primary component "
            f"({_describe(before)}; expected size {size})"
        )
    offset = _log_size(log_error)
    started = time.monotonic()
    if not __salt__["service.restart"](service):
        raise CommandExecutionError(f"{service} restart failed; see {log_error}")
    deadline = started + float(timeout)
    last = "no status yet"
    while True:
        status, error = _galera_view()
        if status is not None:
            last = _describe(status)
            if _synced(status) and _size(status) == size:
                break
        else:
            last = error
        if time.monotonic() > deadline:
            raise CommandExecutionError(
                f"{service} restarted but not Synced in a cluster of {size} after {timeout}s ({last})"
            )
        time.sleep(0.5)
    return {
        "seconds": round(time.monotonic() - started, 1),
        "transfer": state_transfer(_log_since(log_error, offset)),
        "status": last,
    }


def _rabbit_healthy(view, nodes):
    return bool(view) and set(nodes) <= set(view.get("running") or []) \
        and not view.get("partitions") and not view.get("alarms")


def _rabbit_describe(view):
    if not view:
        return "not running"
    return (f"running {', '.join(view.get('running') or []) or 'none'}; "
            f"partitions {view.get('partitions') or 'none'}; alarms {view.get('alarms') or 'none'}")


def rabbitmq_restart(nodes, service="rabbitmq-server", timeout=300):
    """
    Restart this RabbitMQ broker and wait until the cluster is whole again.

    ``nodes`` are every broker's node name (``rabbit@<minion>``). Refuses
    (raises, nothing restarted) unless this node sees every node running with
    no partition and no alarm. Before stopping, waits (at most ``timeout``
    seconds) until no quorum queue would lose its majority without this node
    (``rabbitmq-upgrade await_online_quorum_plus_one``: the members restarted
    before have caught up). Then restarts ``service``, waits for the broker to
    boot, and waits until it sees every node running without partitions.

    Returns ``{"seconds", "running"}``.

    CLI Example:

    .. code-block:: bash

        salt ctl2 hastack_rolling.rabbitmq_restart '["rabbit@ctl1", "rabbit@ctl2", "rabbit@ctl3"]'
    """
    if isinstance(nodes, str):
        nodes = [n.strip() for n in nodes.split(",") if n.strip()]
    status = __salt__["hastack_rabbitmq.status"]
    before = status()
    if not _rabbit_healthy(before, nodes):
        raise CommandExecutionError(
            f"refusing to restart: the cluster is not whole as this node sees it ({_rabbit_describe(before)})"
        )
    timeout = int(timeout)
    ready = __salt__["cmd.run_all"](
        ["rabbitmq-upgrade", "await_online_quorum_plus_one", "-t", str(timeout)],
        python_shell=False, ignore_retcode=True, timeout=timeout + 30,
    )
    if ready["retcode"] != 0:
        raise CommandExecutionError(
            "refusing to restart: some quorum queue would lose its majority without this node "
            f"({(ready['stderr'] or ready['stdout']).strip()[:300]})"
        )
    started = time.monotonic()
    if not __salt__["service.restart"](service):
        raise CommandExecutionError(f"{service} restart failed")
    booted = __salt__["cmd.run_all"](
        ["rabbitmqctl", "await_startup", "--timeout", str(timeout)],
        python_shell=False, ignore_retcode=True, timeout=timeout + 30,
    )
    if booted["retcode"] != 0:
        raise CommandExecutionError(
            f"{service} restarted but did not boot: {(booted['stderr'] or booted['stdout']).strip()[:300]}"
        )
    deadline = started + timeout
    while True:
        view = status()
        if _rabbit_healthy(view, nodes):
            break
        if time.monotonic() > deadline:
            raise CommandExecutionError(
                f"{service} restarted but the cluster is not whole after {timeout}s ({_rabbit_describe(view)})"
            )
        time.sleep(0.5)
    return {"seconds": round(time.monotonic() - started, 1), "running": view["running"]}
