"""
Beacon reporting a change of this host's RabbitMQ cluster view.

It reduces what it sees to a condition: ``stopped`` (a process named in
``processes`` is gone: the broker was killed or stopped), ``down`` (the node
runs but does not answer), ``paused`` (it answers but its application is not
running, as a ``pause_minority`` node in a minority is), ``partitioned``,
``degraded`` (a member is stopped) or ``healthy``, plus the running nodes and
partitions. It fires only when that summary changes. The event tag is
``salt/beacon/<minion>/hastack_rabbitmq/<condition>``; a ``stopped`` event
also carries ``service_name``, the stopped service, like the ``service``
beacon's events do, and is healed as one.

The processes are looked for every ``interval`` seconds by their command line
(cheap: /proc is read). The cluster view comes from ``rabbitmqctl
cluster_status``, an Erlang VM start costing about a second of CPU, so it is
read only every ``status_interval`` seconds (default: every check), and at
once when the broker process is back.

.. code-block:: yaml

    beacons:
      hastack_rabbitmq:
        - node: rabbit@ctl1
        - processes: {rabbitmq-server: '-s rabbit boot'}
        - interval: 5
        - status_interval: 30
        - disable_during_state_run: True

``node`` is this host's node name (``hastack.beacons`` sets it); without it
the node counts as running whenever it answers. ``emitatstartup: True`` also
reports the first reading after the minion (re)starts.
"""

import logging
import time

import salt.utils.beacons
import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack_rabbitmq"

OPTIONS = {"node", "processes", "interval", "status_interval", "disable_during_state_run", "emitatstartup",
           "enabled", "beacon_module", "_beacon_name"}

# Per beacon name: the last summary, and when the cluster status was last read.
LAST = {}
READ_AT = {}


def __virtual__():
    if salt.utils.path.which("rabbitmqctl"):
        return __virtualname__
    return (False, "hastack_rabbitmq beacon: rabbitmqctl not found (is rabbitmq-server installed?)")


def validate(config):
    """
    Validate the beacon configuration: a list of one-key mappings holding only
    known options; ``node`` a ``name@host`` string when given.
    """
    if not isinstance(config, list) or not all(isinstance(item, dict) for item in config):
        return False, "Configuration for hastack_rabbitmq beacon must be a list of mappings."
    options = salt.utils.beacons.list_to_dict(config)
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        return False, f"Unknown option(s) for hastack_rabbitmq beacon: {', '.join(unknown)}"
    node = options.get("node")
    if node is not None and (not isinstance(node, str) or "@" not in node):
        return False, "hastack_rabbitmq beacon: node must look like rabbit@host"
    processes = options.get("processes", {})
    if not isinstance(processes, dict) or not all(isinstance(v, str) and v for v in processes.values()):
        return False, "hastack_rabbitmq beacon: processes must map a service to its command-line signature"
    status_interval = options.get("status_interval", 0)
    if isinstance(status_interval, bool) or not isinstance(status_interval, (int, float)) or status_interval < 0:
        return False, "hastack_rabbitmq beacon: status_interval must be a number of seconds"
    return True, "Valid beacon configuration"


def summarize(status, node=None, stopped_services=()):
    """
    Reduce a parsed cluster status (None: the node did not answer) and the
    watched services whose process is gone to ``{condition, running,
    running_nodes, stopped, partitions, paused, stopped_services}``.
    """
    if stopped_services:
        return {"condition": "stopped", "running": False, "running_nodes": [], "stopped": [],
                "partitions": {}, "paused": False, "stopped_services": sorted(stopped_services)}
    if not isinstance(status, dict):
        return {"condition": "down", "running": False, "running_nodes": [], "stopped": [],
                "partitions": {}, "paused": False, "stopped_services": []}
    running_nodes = sorted(status.get("running") or [])
    partitions = {key: sorted(value) for key, value in (status.get("partitions") or {}).items()}
    running = node in running_nodes if node else True
    paused = not running
    stopped = sorted(status.get("stopped") or [])
    if paused:
        condition = "paused"
    elif partitions:
        condition = "partitioned"
    elif stopped:
        condition = "degraded"
    else:
        condition = "healthy"
    return {"condition": condition, "running": running, "running_nodes": running_nodes,
            "stopped": stopped, "partitions": partitions, "paused": paused, "stopped_services": []}


def change_event(previous, current, emit_first=False):
    """
    The event for a new summary, or None: fired when the summary differs from
    the previous one (``previous`` None: first reading, fired only with
    ``emit_first``). The tag is the new condition.
    """
    if previous == current or (previous is None and not emit_first):
        return None
    event = {"tag": current["condition"], "previous": previous, "current": current,
             "healthy": current["condition"] == "healthy"}
    if current.get("stopped_services"):
        event["service_name"] = current["stopped_services"][0]
    return event


def status_due(previous, read_at, now, status_interval):
    """
    Whether to read the cluster status now (rabbitmqctl is dear): at the
    first check, when the last summary was not a running node's (it may have
    come back), or when ``status_interval`` seconds have passed.
    """
    if previous is None or read_at is None:
        return True
    if previous.get("condition") in ("stopped", "down"):
        return True
    return now - read_at >= (status_interval or 0)


def beacon(config):
    """
    Look for the watched processes, read the local node's cluster status
    when it is due, and return one event when the summary changed since the
    last check.
    """
    options = salt.utils.beacons.list_to_dict(config)
    name = options.get("_beacon_name", __virtualname__)
    node = options.get("node")
    processes = options.get("processes") or {}
    stopped_services = sorted(service for service, signature in processes.items()
                              if not __salt__["hastack.process_running"](signature))
    previous = LAST.get(name)
    now = time.monotonic()
    if stopped_services:
        current = summarize(None, node, stopped_services)
    elif status_due(previous, READ_AT.get(name), now, options.get("status_interval", 0)):
        try:
            status = __salt__["hastack_rabbitmq.status"]()
        except CommandExecutionError as exc:
            log.debug("hastack_rabbitmq beacon: %s", exc)
            status = None
        READ_AT[name] = now
        current = summarize(status, node)
    else:
        current = previous
    event = change_event(previous, current, emit_first=options.get("emitatstartup") is True)
    LAST[name] = current
    return [event] if event else []
