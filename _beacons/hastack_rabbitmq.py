"""
Beacon reporting a change of this host's RabbitMQ cluster view.

Every ``interval`` seconds it reads ``hastack_rabbitmq.status`` of the local
node and reduces it to a condition: ``down`` (the node does not answer),
``paused`` (it answers but its application is not running, as a
``pause_minority`` node in a minority is), ``partitioned``, ``degraded`` (a
member is stopped) or ``healthy``, plus the running nodes and partitions.
It fires only when that summary changes. The event tag is
``salt/beacon/<minion>/hastack_rabbitmq/<condition>``.

.. code-block:: yaml

    beacons:
      hastack_rabbitmq:
        - node: rabbit@ctl1
        - interval: 5
        - disable_during_state_run: True

``node`` is this host's node name (``hastack.beacons`` sets it); without it
the node counts as running whenever it answers. ``emitatstartup: True`` also
reports the first reading after the minion (re)starts.
"""

import logging

import salt.utils.beacons
import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack_rabbitmq"

OPTIONS = {"node", "interval", "disable_during_state_run", "emitatstartup", "enabled", "beacon_module",
           "_beacon_name"}

LAST = {}


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
    return True, "Valid beacon configuration"


def summarize(status, node=None):
    """
    Reduce a parsed cluster status (None: the node did not answer) to
    ``{condition, running, running_nodes, stopped, partitions, paused}``.
    """
    if not isinstance(status, dict):
        return {"condition": "down", "running": False, "running_nodes": [], "stopped": [],
                "partitions": {}, "paused": False}
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
            "stopped": stopped, "partitions": partitions, "paused": paused}


def change_event(previous, current, emit_first=False):
    """
    The event for a new summary, or None: fired when the summary differs from
    the previous one (``previous`` None: first reading, fired only with
    ``emit_first``). The tag is the new condition.
    """
    if previous == current or (previous is None and not emit_first):
        return None
    return {"tag": current["condition"], "previous": previous, "current": current,
            "healthy": current["condition"] == "healthy"}


def beacon(config):
    """
    Read the local node's cluster status and return one event when it
    changed since the last reading.
    """
    options = salt.utils.beacons.list_to_dict(config)
    name = options.get("_beacon_name", __virtualname__)
    node = options.get("node")
    try:
        status = __salt__["hastack_rabbitmq.status"]()
    except CommandExecutionError as exc:
        log.debug("hastack_rabbitmq beacon: %s", exc)
        status = None
    current = summarize(status, node)
    event = change_event(LAST.get(name), current, emit_first=options.get("emitatstartup") is True)
    LAST[name] = current
    return [event] if event else []
