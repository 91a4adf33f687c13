"""
Beacon reporting a change of this host's Galera state.

Every ``interval`` seconds it reads the ``wsrep_%`` status through
``hastack_galera.status`` and reduces it to a condition (``synced``,
``joining``, ``donor``, ``non-primary``, ``down``, ...) plus the cluster
status and size. It fires only when that summary changes (a node leaving,
the Primary Component lost, the server gone), never twice for the same
state. The event tag is ``salt/beacon/<minion>/hastack_galera/<condition>``.

.. code-block:: yaml

    beacons:
      hastack_galera:
        - interval: 5
        - disable_during_state_run: True

``emitatstartup: True`` also reports the first reading after the minion
(re)starts; by default the first reading is only remembered.
"""

import logging

import salt.utils.beacons
import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack_galera"

# Options this beacon knows; the beacon framework adds the underscore ones.
OPTIONS = {"interval", "disable_during_state_run", "emitatstartup", "enabled", "beacon_module", "_beacon_name"}
# wsrep_local_state_comment values, as conditions.
CONDITIONS = {
    "synced": "synced",
    "donor/desynced": "donor",
    "joining": "joining",
    "joined": "joining",
    "waiting on sst": "joining",
    "initialized": "initialized",
}

# Last summary per configured beacon name (the loader keeps the module loaded).
LAST = {}


def __virtual__():
    if salt.utils.path.which("mariadb") or salt.utils.path.which("mysql"):
        return __virtualname__
    return (False, "hastack_galera beacon: mariadb/mysql client binaries not found")


def validate(config):
    """
    Validate the beacon configuration: a list of one-key mappings holding only
    known options.
    """
    if not isinstance(config, list) or not all(isinstance(item, dict) for item in config):
        return False, "Configuration for hastack_galera beacon must be a list of mappings."
    unknown = sorted(set(salt.utils.beacons.list_to_dict(config)) - OPTIONS)
    if unknown:
        return False, f"Unknown option(s) for hastack_galera beacon: {', '.join(unknown)}"
    return True, "Valid beacon configuration"


def summarize(status):
    """
    Reduce a ``hastack_galera.status()`` dict (None: the server did not
    answer) to ``{condition, state, cluster_status, cluster_size, ready}``.
    """
    if not isinstance(status, dict):
        return {"condition": "down", "state": "", "cluster_status": "", "cluster_size": 0, "ready": False}
    state = str(status.get("wsrep_local_state_comment", "")).strip()
    cluster_status = str(status.get("wsrep_cluster_status", "")).strip()
    try:
        size = int(status.get("wsrep_cluster_size", 0))
    except (TypeError, ValueError):
        size = 0
    if cluster_status and cluster_status != "Primary":
        condition = "non-primary"
    else:
        condition = CONDITIONS.get(state.lower(), state.lower().replace(" ", "-") or "unknown")
    return {
        "condition": condition,
        "state": state,
        "cluster_status": cluster_status,
        "cluster_size": size,
        "ready": str(status.get("wsrep_ready", "")).strip().upper() == "ON",
    }


def change_event(previous, current, emit_first=False):
    """
    The event for a new summary, or None: fired when the summary differs from
    the previous one (``previous`` None: first reading, fired only with
    ``emit_first``). The tag is the new condition.
    """
    if previous == current or (previous is None and not emit_first):
        return None
    return {"tag": current["condition"], "previous": previous, "current": current,
            "healthy": current["condition"] == "synced" and current["cluster_status"] == "Primary"}


def beacon(config):
    """
    Read this node's wsrep status and return one event when it changed since
    the last reading.
    """
    options = salt.utils.beacons.list_to_dict(config)
    name = options.get("_beacon_name", __virtualname__)
    try:
        status = __salt__["hastack_galera.status"]()
    except CommandExecutionError as exc:
        log.debug("hastack_galera beacon: %s", exc)
        status = None
    current = summarize(status)
    event = change_event(LAST.get(name), current, emit_first=options.get("emitatstartup") is True)
    LAST[name] = current
    return [event] if event else []
