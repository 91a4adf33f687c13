"""
Auto-heal decisions and bookkeeping on the salt master.

Beacons on the hosts (``hastack.beacons``) and the reconciler of this runner
(``reconcile``, looped by the ``hastack_heal`` master engine) produce events; the reactors in
``reactor/`` hand each to an orchestration in ``orch/heal/``, whose first step
is ``hastack_heal.heal step=begin`` and whose last is ``step=done`` (or
``step=failed`` when a step failed). Every decision is a plain function here,
table-tested without Salt:

- ``classify``: an event (tag and data) -> the heal it asks for, or nothing
- ``admit``: may that heal run now (switch, maintenance, duplicates, backoff,
  the cluster's lock)
- ``take_lock`` / ``release_lock``: one heal per cluster at a time; a lock is
  stale when its holder process died or its TTL passed
- ``reconcile_events``: wanted state against what the hosts answered

Every heal fires ``hastack/heal/<cluster>/<phase>`` (phase ``start``,
``done``, ``refused``, ``failed``, ``gave_up``) with ``{heal_id, cluster,
action, target, service, reason, started, duration}``. The state of the
healer (locks, history, maintenance, the reconciler's memory) lives in
``<master cachedir>/hastack_heal/``.
"""

import contextlib
import copy
import datetime
import errno
import fcntl
import json
import logging
import os
import pathlib
import time
import uuid

log = logging.getLogger(__name__)

__virtualname__ = "hastack_heal"

EVENT_PREFIX = "hastack/heal"
RECONCILE_PREFIX = "hastack/heal/reconcile"
PHASES = ("start", "done", "refused", "failed", "gave_up", "interrupted")
# The cluster a host's return is serialized in: one host brought back at a time.
HOSTS_CLUSTER = "hosts"

# Used when the caller's settings lack a key (mirrors parameters/defaults.yaml heal:).
FALLBACK = {
    "enabled": True,
    "reconcile_interval": 10,
    "answer_timeout": 4,
    "host_grace": 300,
    "lock_ttl": 900,
    "dedupe_window": 60,
    "galera_outage_grace": 60,
    "host_back_retry": 60,
    "backoff": {"max_failures": 3, "max_heals": 3, "window": 1800},
    "history": 200,
}


def __virtual__():
    return __virtualname__


# --------------------------------------------------------------------------
# Pure logic: plain dicts in, plain values out. Unit tests call these.
# --------------------------------------------------------------------------


def settings_of(view):
    """The ``heal`` settings of a view, every key present."""
    heal = (view or {}).get("heal") if isinstance((view or {}).get("heal"), dict) else {}
    merged = copy.deepcopy(FALLBACK)
    for key, value in heal.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = dict(merged[key], **value)
        else:
            merged[key] = value
    return merged


def heal_key(action):
    """What makes two heals the same heal: cluster, action, target, service (and a Galera stage)."""
    key = ":".join(str(action.get(k) or "") for k in ("cluster", "action", "target", "service"))
    return f"{key}:{action['stage']}" if action.get("stage") else key


def _tag_parts(tag):
    return [part for part in str(tag or "").split("/")]


def tiers_of_minion(view, minion):
    """Sorted tiers with states whose roles list ``minion`` (from ``watch`` and ``roles``)."""
    roles = (view or {}).get("roles") or {}
    mine = {role for role, members in roles.items() if isinstance(members, list) and minion in members}
    return sorted(tier for tier, spec in ((view or {}).get("watch") or {}).items()
                  if mine & set(spec.get("roles") or []))


def wanted_services(view, minion):
    """Sorted services ``minion`` must run: the ``services`` of its tiers."""
    watch = (view or {}).get("watch") or {}
    wanted = set()
    for tier in tiers_of_minion(view, minion):
        wanted.update(watch[tier].get("services") or [])
    return sorted(wanted)


def _service_action(view, minion, service, reason):
    spec = (settings_of(view).get("services") or {}).get(service)
    if not spec:
        return None, f"service {service} is not watched by any tier"
    if service not in wanted_services(view, minion):
        return None, f"{minion} does not carry the tier of {service}"
    return {
        "cluster": spec["tier"],
        "action": "restart_service",
        "target": minion,
        "service": service,
        "tier": spec["tier"],
        "sls": spec.get("sls") or f"hastack.{spec['tier']}",
        "drain": bool(spec.get("drain")),
        "health": spec.get("health") or "",
        "reason": reason,
    }, reason


def classify(tag, data, view):
    """
    The heal an event asks for: ``(action, reason)``, action None when the
    event needs no heal (``reason`` says why). An action is ``{cluster,
    action, target, service, reason, ...}``; actions:

    - ``restart_service``: a watched service is down on a live host
      (``service`` beacon with ``running: false``, the RabbitMQ beacon
      reporting its broker process ``stopped``, or the reconciler). Also
      carries ``tier``, ``sls``, ``drain``, ``health``.
    - ``galera_outage``: no Primary Component on any db host (the Galera
      beacon reporting ``non-primary``, or the reconciler). ``stage`` is
      ``start`` (start every node, let pc.recovery work) or ``recover`` (the
      safe recovery from the highest committed position).
    - ``forget_host``: a mq host stayed silent longer than the grace period.
    - ``host_back``: a host the reconciler declared lost answers again. A
      minion's start event is no heal: minions send it on reconnecting to a
      restarted master too.
    """
    data = data if isinstance(data, dict) else {}
    parts = _tag_parts(tag)

    if len(parts) >= 5 and parts[:2] == ["salt", "beacon"] and parts[3] == "service":
        minion, service = parts[2], "/".join(parts[4:])
        state = data.get(service) if isinstance(data.get(service), dict) else {}
        if state.get("running") is not False:
            return None, f"{service} on {minion} is running"
        return _service_action(view, minion, service, f"service beacon: {service} stopped on {minion}")

    if len(parts) >= 5 and parts[:2] == ["salt", "beacon"] and parts[3] == "hastack_galera":
        minion, condition = parts[2], parts[4]
        if condition != "non-primary":
            return None, f"Galera on {minion} is {condition}: no cluster heal (a stopped server is a service heal)"
        return {"cluster": "galera", "action": "galera_outage", "target": "galera", "service": "",
                "stage": "start", "reason": f"Galera beacon: {minion} lost the Primary Component"}, "non-primary"

    if len(parts) >= 5 and parts[:2] == ["salt", "beacon"] and parts[3] == "hastack_rabbitmq":
        minion, condition = parts[2], parts[4]
        if condition == "stopped":
            # The broker's process is gone: the beacon watches it in place of
            # the service beacon (whose init-script status is too dear).
            service = data.get("service_name") or ""
            if not service:
                return None, f"RabbitMQ beacon on {minion} reported stopped without naming a service"
            return _service_action(view, minion, service, f"RabbitMQ beacon: {service} stopped on {minion}")
        # pause_minority resumes a paused node and heals a partition by itself;
        # a stopped broker is a service heal and a lost host the reconciler's.
        return None, f"RabbitMQ on {minion} is {condition}: recorded, healed by pause_minority or other heals"

    if len(parts) >= 4 and parts[:2] == ["salt", "minion"] and parts[3] == "start":
        # Minions also send it when they reconnect to a restarted master: a
        # host's return is the reconciler's call (host_lost, then host_back).
        return None, f"minion {parts[2]} started: the reconciler decides whether it was lost"

    if str(tag or "").startswith(RECONCILE_PREFIX + "/"):
        kind = data.get("kind")
        minion = data.get("minion") or ""
        if kind == "service_down":
            return _service_action(view, minion, data.get("service") or "",
                                   f"reconciler: {data.get('service')} down on {minion}")
        if kind == "galera_no_primary":
            stage = data.get("stage") if data.get("stage") in ("start", "recover") else "start"
            return {"cluster": "galera", "action": "galera_outage", "target": "galera", "service": "",
                    "stage": stage, "silent": sorted(data.get("silent") or []),
                    "reason": data.get("reason") or "reconciler: no Primary Component"}, kind
        if kind == "host_lost":
            if minion not in (((view or {}).get("roles") or {}).get("mq") or []):
                return None, f"{minion} is lost but runs no RabbitMQ: nothing to forget"
            return {"cluster": "rabbitmq", "action": "forget_host", "target": minion, "service": "",
                    "reason": data.get("reason") or f"reconciler: {minion} silent"}, kind
        if kind == "host_back":
            return {"cluster": HOSTS_CLUSTER, "action": "host_back", "target": minion, "service": "",
                    "reason": data.get("reason") or f"reconciler: {minion} answers again"}, kind
        return None, f"unknown reconciler event kind {kind!r}"

    return None, f"no heal for events tagged {tag}"


def observed_at(data):
    """
    When the failure an event reports was seen, in epoch seconds, or None:
    the reconciler's ``observed`` (its probe's start), else the event's
    ``_stamp`` (Salt's UTC ISO time of firing).
    """
    data = data if isinstance(data, dict) else {}
    try:
        if data.get("observed") is not None:
            return float(data["observed"])
    except (TypeError, ValueError):
        pass
    stamp = data.get("_stamp")
    if not isinstance(stamp, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def lock_is_stale(record, now, pid_alive):
    """
    True when a lock ``record`` (``{pid, expires, ...}``) no longer holds:
    unreadable, past its expiry, or its holder process is gone.
    """
    if not isinstance(record, dict):
        return True
    try:
        if float(record.get("expires", 0)) <= now:
            return True
    except (TypeError, ValueError):
        return True
    pid = record.get("pid")
    return not isinstance(pid, int) or not pid_alive(pid)


def _after_reset(history, cluster):
    """The entries of ``history`` after the last operator reset of ``cluster`` (``hastack_heal.reset``)."""
    history = list(history or [])
    for index in range(len(history) - 1, -1, -1):
        if history[index].get("phase") == "reset" and history[index].get("cluster") == cluster:
            return history[index + 1:]
    return history


def failures_in_window(history, cluster, now, window):
    """Failed heals of ``cluster`` that finished within ``window`` seconds before ``now`` (since a reset)."""
    return [entry for entry in _after_reset(history, cluster)
            if entry.get("cluster") == cluster and entry.get("phase") == "failed"
            and now - float(entry.get("finished") or entry.get("started") or 0) <= window]


def heals_in_window(history, cluster, key, now, window):
    """Finished heals (done or failed) of the failure ``key`` within ``window`` seconds (since a reset)."""
    return [entry for entry in _after_reset(history, cluster)
            if entry.get("key") == key and entry.get("phase") in ("done", "failed")
            and now - float(entry.get("finished") or entry.get("started") or 0) <= window]


def outage_refusal(action):
    """
    Why a Galera outage heal must not act (a readable reason), or "" when it
    may: while a db host does not answer, it may be running (a partition) or
    be the most advanced; starting or bootstrapping the answering minority
    could make a second Primary Component or lose commits. It waits for them.
    """
    silent = sorted(action.get("silent") or []) if action.get("action") == "galera_outage" else []
    if not silent:
        return ""
    verb = "does" if len(silent) == 1 else "do"
    return (f"no bootstrap: db host{'s' if len(silent) > 1 else ''} {', '.join(silent)} {verb} not answer;"
            " bootstrapping the answering minority could make a second Primary Component or lose commits,"
            " so the healer waits for them to come back")


def host_back_finished(memory, minion):
    """
    The reconciler's memory once ``minion``'s host_back is done: no longer
    lost nor returning. Until then its service heals wait (``admit``) and the
    reconciler fires host_back again every ``host_back_retry`` seconds (one
    refused because another host was being brought back runs later: at the
    next round, once this one is done).
    """
    memory = copy.deepcopy(memory or {})
    for key in ("lost", "returning"):
        (memory.get(key) or {}).pop(minion, None)
    # The next returning host need not wait host_back_retry: fired next round.
    if memory.get("returning"):
        memory["returning"] = {}
    return memory


def admit(action, now, settings, maintenance, history, locks, observed=None, lost=None):
    """
    Whether the heal ``action`` may start now: ``(verdict, reason)`` with
    verdict ``run``, ``duplicate`` (another event of a failure already being
    or just healed, or of one given up already: nothing is fired),
    ``refused`` or ``gave_up``.

    maintenance
        ``{"hosts": [...], "clusters": [...]}`` under maintenance.
    history
        Recent heals, ``{key, cluster, phase, started, finished}``.
    locks
        Live locks, ``{cluster: record}`` (stale ones already dropped).
    observed
        When the failure was seen (epoch seconds; the event's time). A heal
        of the same failure that finished after it covers it (duplicate); one
        that finished before it does not: the failure is new. Unknown: any
        heal of the same failure within ``dedupe_window`` covers it.
    lost
        Hosts the reconciler declared lost: their services come back with
        their host_back (a powered-on host's beacons report every service
        stopped before the reconciler hears the host again).
    """
    key = heal_key(action)
    cluster = action.get("cluster")
    maintenance = maintenance or {}
    window = float(settings.get("dedupe_window", 0))
    last = next((entry for entry in reversed(_after_reset(history, cluster))
                 if entry.get("key") == key and entry.get("finished")), None)

    def refuse(reason):
        # Refused again for the same reason: say it once per dedupe window.
        if (last is not None and last.get("phase") == "refused" and last.get("reason") == reason
                and now - float(last["finished"]) < window):
            return "duplicate", f"refused {int(now - float(last['finished']))} s ago: {reason}"
        return "refused", reason

    if not settings.get("enabled", True):
        return refuse("healing is switched off (hastack:heal:enabled)")
    if action.get("target") in (maintenance.get("hosts") or []):
        return refuse(f"host {action.get('target')} is under maintenance")
    if cluster in (maintenance.get("clusters") or []):
        return refuse(f"cluster {cluster} is under maintenance")
    unsafe = outage_refusal(action)
    if unsafe:
        return refuse(unsafe)
    if action.get("action") == "restart_service" and action.get("target") in (lost or []):
        return "duplicate", f"{action.get('target')} is lost: its return (host_back) brings its services back"
    for holder in (locks or {}).values():
        if holder.get("key") == key:
            return "duplicate", f"the same heal runs already ({holder.get('heal_id')})"
        if (action.get("action") != "host_back" and holder.get("action") == "host_back"
                and holder.get("target") == action.get("target")):
            return "duplicate", f"{action.get('target')} is being brought back ({holder.get('heal_id')})"
    backoff = settings.get("backoff") or {}
    backoff_window = float(backoff.get("window", 0))
    if last is not None:
        finished = float(last["finished"])
        age = now - finished
        if observed is not None and last.get("phase") in ("done", "failed"):
            if float(observed) <= finished:
                return "duplicate", f"the failure seen then was {last.get('phase')} {int(age)} s ago"
        elif last.get("phase") == "gave_up" and age <= backoff_window:
            return "duplicate", f"healing it was given up {int(age)} s ago"
        elif observed is None and age < window:
            return "duplicate", f"the same heal was {last.get('phase')} {int(age)} s ago"
    failures = failures_in_window(history, cluster, now, backoff_window)
    if len(failures) >= int(backoff.get("max_failures", 1)):
        return "gave_up", (f"{len(failures)} failed heals of {cluster} within {backoff.get('window')} s: "
                           "healing it stops until the window passes or an operator resets it")
    repeated = heals_in_window(history, cluster, key, now, backoff_window)
    if len(repeated) >= int(backoff.get("max_heals", 3)):
        return "gave_up", (f"{len(repeated)} heals of the same failure within {backoff.get('window')} s (flapping):"
                           " healing it stops until the window passes or an operator resets it")
    if cluster in (locks or {}):
        holder = locks[cluster]
        return "refused", (f"cluster {cluster} is busy with {holder.get('action')} of {holder.get('target')}"
                           f" ({holder.get('heal_id')})")
    return "run", action.get("reason") or ""


def reconcile_events(view, answers, memory, now, asked=None):
    """
    Compare what each stack host must run with what it answered and return
    ``(events, memory)``: events ``(tag, data)`` for the reactors, and the
    memory to keep for the next run (``silent``: since when a host does not
    answer, ``lost``: hosts declared lost, ``returning``: when host_back was
    last fired for a lost host that answers again, ``galera_no_primary``:
    since when no db host is in a Primary Component). A lost host stays lost
    until its host_back is done (``host_back_finished``).

    answers
        ``{minion: None (no answer) or {"services": {name: bool}, "galera": status or None}}``.
    asked
        When the question went out (default: ``now``). A silence dates from
        it: a silent host costs the round its whole answer timeout, which
        must not add to the grace it gets.
    """
    settings = settings_of(view)
    observed = now if asked is None else min(float(asked), now)
    memory = copy.deepcopy(memory or {})
    silent = memory.setdefault("silent", {})
    lost = memory.setdefault("lost", {})
    returning = memory.setdefault("returning", {})
    events = []
    grace = float(settings["host_grace"])
    retry = float(settings["host_back_retry"])
    due = []  # lost hosts that answer, whose host_back is to be fired
    for minion in sorted((view or {}).get("stack_minions") or []):
        answer = (answers or {}).get(minion)
        if not isinstance(answer, dict):
            # Silent again: host_back is fired as soon as it answers.
            returning.pop(minion, None)
            since = silent.setdefault(minion, observed)
            if minion not in lost and now - since >= grace:
                lost[minion] = now
                events.append((f"{RECONCILE_PREFIX}/host_lost/{minion}",
                               {"kind": "host_lost", "minion": minion, "id": minion, "silent_since": since,
                                "reason": f"reconciler: {minion} silent for {int(now - since)} s"
                                          f" (grace {int(grace)} s)"}))
            continue
        silent.pop(minion, None)
        if minion in lost:
            if minion not in returning or now - float(returning[minion]) >= retry:
                due.append(minion)
            # Its return applies the whole host: no service heals for it now.
            continue
        services = answer.get("services") if isinstance(answer.get("services"), dict) else {}
        for service in wanted_services(view, minion):
            if services.get(service) is False:
                events.append((f"{RECONCILE_PREFIX}/service_down/{minion}/{service}",
                               {"kind": "service_down", "minion": minion, "service": service,
                                # the keys of a service beacon event, so orchestrations read either
                                "id": minion, "service_name": service, service: {"running": False}}))

    if due:
        # One host_back per round, the one fired longest ago (never: first).
        # Hosts come back one at a time; in host order, a host whose
        # host_back keeps failing would take the lock from the others forever.
        minion = min(due, key=lambda m: (float(returning.get(m, float("-inf"))), m))
        returning[minion] = now
        events.append((f"{RECONCILE_PREFIX}/host_back/{minion}",
                       {"kind": "host_back", "minion": minion, "id": minion,
                        "reason": f"reconciler: {minion} answers again"}))

    db = ((view or {}).get("roles") or {}).get("db") or []
    answering = {m: (answers or {}).get(m) for m in db if isinstance((answers or {}).get(m), dict)}
    primary = [m for m, a in answering.items()
               if isinstance(a.get("galera"), dict) and a["galera"].get("wsrep_cluster_status") == "Primary"]
    if db and answering and not primary:
        if set(db) - set(answering):
            # The outage clock runs only once every db host answers: a host
            # back from a power loss first gets the start stage (pc.recovery),
            # not at once the recover stage (a bootstrap).
            memory.pop("galera_no_primary", None)
            since = now
        else:
            since = memory.setdefault("galera_no_primary", now)
        stage = "recover" if now - since >= float(settings["galera_outage_grace"]) else "start"
        events.append((f"{RECONCILE_PREFIX}/galera_no_primary/{stage}",
                       {"kind": "galera_no_primary", "stage": stage, "since": since,
                        "silent": sorted(set(db) - set(answering)),
                        "reason": f"reconciler: no db host in a Primary Component for {int(now - since)} s"}))
    else:
        memory.pop("galera_no_primary", None)
    return events, memory


def galera_outage_defers(action, view, answers):
    """
    Why a restart of the Galera server on one member must wait for the
    ``galera_outage`` heal, or None when it may run. When no other db member
    answers in a Primary Component, the member cannot join anything and must
    not bootstrap alone: the outage heal starts every member together
    (pc.recovery) and, after the grace, runs the safe recovery. A restart
    tried meanwhile would only fail and count towards the backoff.

    answers
        ``{minion: heal_probe answer or None}`` of the db members.
    """
    service = ((view or {}).get("galera") or {}).get("service") or "mariadb"
    if action.get("action") != "restart_service" or action.get("cluster") != "galera" \
            or action.get("service") != service:
        return None
    others = [m for m in ((view or {}).get("roles") or {}).get("db") or [] if m != action.get("target")]
    if not others:
        return None
    for minion in others:
        answer = (answers or {}).get(minion)
        galera = answer.get("galera") if isinstance(answer, dict) else None
        if isinstance(galera, dict) and galera.get("wsrep_cluster_status") == "Primary":
            return None
    return (f"no other Galera member ({', '.join(others)}) is in a Primary Component: "
            "a full outage, left to the galera_outage heal")


def orphaned_heals(history, locks, now, min_age=5.0):
    """
    Started heals that will never finish: no ``done``/``failed`` entry, and no
    live lock of theirs (its holder, the orchestration's process, died, e.g.
    with a restarted master). ``min_age`` spares a heal that just started.
    """
    holding = {record.get("heal_id") for record in (locks or {}).values()}
    finished = {entry.get("heal_id") for entry in history or [] if entry.get("finished")}
    return [entry for entry in history or []
            if entry.get("phase") == "start" and entry.get("heal_id")
            and entry["heal_id"] not in finished and entry["heal_id"] not in holding
            and now - float(entry.get("started") or 0) >= min_age]


def _failure_of(key):
    """A heal key without its Galera stage: the same outage in either stage."""
    return ":".join(str(key or "").split(":")[:4])


def close_orphans(orphans, failing_keys, silent=()):
    """
    ``[(entry, phase)]``: an orphan whose failure the reconciler no longer
    sees is ``done`` (the interrupted run finished its job or nothing is left
    to do); one still failing is ``interrupted`` (the reconciler's event of
    this round starts a new heal of it). One whose target host did not
    answer (``silent``) stays open: nothing is known of it yet.
    """
    failing = {_failure_of(key) for key in failing_keys or ()}
    return [(entry, "interrupted" if _failure_of(entry.get("key")) in failing else "done") for entry in orphans
            if entry.get("target") not in set(silent or ())]


def forget_decision(node, statuses, members):
    """
    Whether RabbitMQ node ``node`` may be forgotten, judged from the parsed
    cluster statuses the other members answered (``{minion: status or
    None}``): ``(ok, reason, via)``. Only a member whose view holds a strict
    majority of running members may do it (never a paused minority), the node
    must not run, and it must not be the last disc node.
    """
    majority = len(members) // 2 + 1
    for minion, status in sorted((statuses or {}).items()):
        if not isinstance(status, dict):
            continue
        running = status.get("running") or []
        if len(running) < majority:
            continue
        if node in running:
            return False, f"{node} still runs in the view of {minion}", None
        if node not in (status.get("members") or []):
            return False, f"{node} is not a member any more", None
        if not [n for n in status.get("disk_nodes") or [] if n != node]:
            return False, f"{node} is the last disc node", None
        return True, f"{minion} sees {len(running)} of {len(members)} nodes running", minion
    return False, f"no answering member sees a majority ({majority} of {len(members)}) running", None


def trim_history(history, keep):
    """The last ``keep`` entries."""
    keep = max(int(keep), 1)
    return list(history or [])[-keep:]


# --------------------------------------------------------------------------
# Files under the master's cachedir: locks, history, maintenance, memory.
# --------------------------------------------------------------------------


def pid_alive(pid):
    """True when a process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def state_dir(cachedir):
    path = pathlib.Path(cachedir) / "hastack_heal"
    (path / "locks").mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _guard(directory):
    """An exclusive flock over the healer's files (the kernel drops it if we die)."""
    with open(pathlib.Path(directory) / ".guard", "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_json(path, default):
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def _write_json(path, value):
    path = pathlib.Path(path)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, sort_keys=True, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def live_locks(directory, now, alive=pid_alive):
    """{cluster: record} of the locks that still hold; stale ones are removed."""
    locks = {}
    for path in sorted((pathlib.Path(directory) / "locks").glob("*.json")):
        record = _read_json(path, None)
        if lock_is_stale(record, now, alive):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        locks[path.stem] = record
    return locks


def take_lock(directory, action, heal_id, now, ttl, pid, alive=pid_alive):
    """Take the lock of ``action``'s cluster: ``(True, record)`` or ``(False, holder)``."""
    with _guard(directory):
        locks = live_locks(directory, now, alive)
        cluster = action["cluster"]
        if cluster in locks:
            return False, locks[cluster]
        record = {"heal_id": heal_id, "key": heal_key(action), "cluster": cluster,
                  "action": action.get("action"), "target": action.get("target"),
                  "service": action.get("service") or "", "pid": pid, "taken": now, "expires": now + float(ttl)}
        _write_json(pathlib.Path(directory) / "locks" / f"{cluster}.json", record)
        return True, record


def _release_unguarded(directory, cluster, key):
    path = pathlib.Path(directory) / "locks" / f"{cluster}.json"
    record = _read_json(path, None)
    if isinstance(record, dict) and record.get("key") == key:
        with contextlib.suppress(OSError):
            path.unlink()
        return record
    return None


def _append_unguarded(directory, entries, keep):
    path = pathlib.Path(directory) / "history.json"
    history = trim_history(_read_json(path, []) + list(entries), keep)
    _write_json(path, history)
    return history


def release_lock(directory, cluster, key):
    """Drop ``cluster``'s lock if it is the one of heal ``key``; returns the record dropped or None."""
    with _guard(directory):
        return _release_unguarded(directory, cluster, key)


def append_history(directory, entry, keep):
    with _guard(directory):
        return _append_unguarded(directory, [entry], keep)


def finish_heal(directory, cluster, key, make_entry, keep):
    """
    Release the lock of heal ``key`` and record its end in one step (the
    reconciler, reading both, never sees a released heal without its end):
    ``(record, entry, history)``; ``make_entry(record)`` builds the entry.
    """
    with _guard(directory):
        record = _release_unguarded(directory, cluster, key) or {}
        entry = make_entry(record)
        return record, entry, _append_unguarded(directory, [entry], keep)


# --------------------------------------------------------------------------
# Salt-facing runner functions.
# --------------------------------------------------------------------------


def _dir():
    return state_dir(__opts__["cachedir"])


def _fire(tag, data):
    """Fire an event on the master's bus (what the ``event.send`` runner does)."""
    import salt.utils.event  # pylint: disable=import-outside-toplevel

    with salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False) as event:
        return event.fire_event(data, tag)


def _fail(result):
    """Mark this runner call failed (an orchestration step then fails)."""
    __context__["retcode"] = 1
    return result


# The master's own minion and grains, made once per process: the reconciler's
# engine asks for a view every few seconds, and they do not change.
_MASTER = {}


def _master_opts():
    """Opts of the master's own minion, with its grains (cached)."""
    import salt.loader  # pylint: disable=import-outside-toplevel
    import salt.minion  # pylint: disable=import-outside-toplevel

    if "opts" not in _MASTER:
        mminion = salt.minion.MasterMinion(__opts__, states=False, rend=False, matcher=False)
        opts = copy.deepcopy(mminion.opts)
        opts["grains"] = salt.loader.grains(opts)
        _MASTER["opts"] = opts
    return _MASTER["opts"]


def _compiled_pillar(opts):
    import salt.pillar  # pylint: disable=import-outside-toplevel

    return salt.pillar.get_pillar(opts, opts["grains"], opts["id"], saltenv=opts.get("saltenv") or "base",
                                  pillarenv=opts.get("pillarenv")).compile_pillar()


def switched_off(pillar):
    """
    The heal settings when the pillar itself turns healing off (``hastack:heal:
    enabled: false``), else None. Lets the reconciler skip deriving the whole
    view while healing is off.
    """
    heal = ((pillar or {}).get("hastack") or {}).get("heal")
    if not isinstance(heal, dict) or heal.get("enabled") is not False:
        return None
    return dict(settings_of({"heal": {k: v for k, v in heal.items() if k in FALLBACK}}), enabled=False)


def _load_view(stop_if_off=False):
    """
    The stack view the orchestrations see (hastack.mapdata of the master's
    minion, pillar compiled as for ``state.orchestrate``). With
    ``stop_if_off``, only ``{"heal": settings}`` when the pillar turns healing
    off (the costly part, deriving the view, is skipped).
    """
    import salt.loader  # pylint: disable=import-outside-toplevel

    opts = dict(_master_opts())
    opts["pillar"] = _compiled_pillar(opts)
    if stop_if_off:
        off = switched_off(opts["pillar"])
        if off is not None:
            return {"heal": off}
    functions = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts))
    return functions["hastack.mapdata"](minion=opts["id"])


def _maintenance_path():
    return _dir() / "maintenance.json"


def _maintenance():
    data = _read_json(_maintenance_path(), {})
    return {"hosts": sorted(data.get("hosts") or []), "clusters": sorted(data.get("clusters") or [])}


def _targets(target):
    """Names from one name, a comma-separated string or a list (empty names dropped)."""
    names = target if isinstance(target, (list, tuple)) else str(target).split(",")
    return [str(name).strip() for name in names if str(name).strip()]


def maintenance(target, state="on"):
    """
    Put a host or a cluster under maintenance (``on``: every heal touching it
    is refused) or take it out (``off``). ``target`` is a minion id or a
    cluster name (a tier, e.g. ``galera``, ``rabbitmq``, or ``hosts``), or
    several of them, comma-separated. Returns what is under maintenance now.

    CLI Example:

    .. code-block:: bash

        salt-run hastack_heal.maintenance ctl2 on
        salt-run hastack_heal.maintenance galera off
        salt-run hastack_heal.maintenance ctl1,ctl2,galera off
    """
    state = str(state).lower()
    if state not in ("on", "off", "true", "false"):
        return _fail({"error": f"state must be on or off, got {state!r}"})
    targets = _targets(target)
    if not targets:
        return _fail({"error": "name a host or a cluster"})
    on = state in ("on", "true")
    clusters = FALLBACK_CLUSTERS | {HOSTS_CLUSTER} | _tier_names()
    kinds = {name: "clusters" if name in clusters else "hosts" for name in targets}
    directory = _dir()
    with _guard(directory):
        current = _maintenance()
        for name, kind in kinds.items():
            members = set(current[kind])
            (members.add if on else members.discard)(name)
            current[kind] = sorted(members)
        _write_json(_maintenance_path(), current)
    for name, kind in kinds.items():
        _fire(f"{EVENT_PREFIX}/maintenance/{name}", {"target": name, "kind": kind, "on": on})
    return current


def _tier_names():
    """Names of the stack's tier blocks (every one is a cluster the healer knows); none if no view."""
    try:
        return set((_load_view() or {}).get("tiers") or {})
    except Exception:  # noqa: BLE001 - no pillar yet: the fixed names still apply
        return set()


# Cluster names a maintenance target may always be (tiers with states), view or not.
FALLBACK_CLUSTERS = {"galera", "arbitrator", "rabbitmq", "haproxy", "keepalived", "memcached"}


def status(count=20):
    """
    The healer's state: live locks, what is under maintenance, the last
    ``count`` heals (newest last).

    CLI Example:

    .. code-block:: bash

        salt-run hastack_heal.status
        salt-run hastack_heal.status count=50
    """
    directory = _dir()
    now = time.time()
    return {
        "locks": live_locks(directory, now),
        "maintenance": _maintenance(),
        "recent": _read_json(directory / "history.json", [])[-int(count):],
    }


def reset(cluster):
    """
    Forget the failed and repeated heals of ``cluster`` (a tier name such as
    ``memcached``, or ``hosts``; or several, comma-separated) after an
    operator fixed the cause: healing it, given up by the backoff, resumes.

    CLI Example:

    .. code-block:: bash

        salt-run hastack_heal.reset memcached
        salt-run hastack_heal.reset galera,rabbitmq,hosts
    """
    clusters = _targets(cluster)
    if not clusters:
        return _fail({"error": "name a cluster"})
    keep = settings_of({}).get("history", 200)
    for name in clusters:
        now = time.time()
        append_history(_dir(), {"cluster": name, "phase": "reset", "key": "", "started": now, "finished": now}, keep)
        _fire(f"{EVENT_PREFIX}/{name}/reset", {"cluster": name, "reason": "operator reset"})
    if len(clusters) == 1:
        return {"cluster": clusters[0], "reset": True}
    return {"clusters": clusters, "reset": True}


def _event_payload(action, heal_id, started, now, reason):
    return {"heal_id": heal_id, "cluster": action.get("cluster"), "action": action.get("action"),
            "target": action.get("target"), "service": action.get("service") or "",
            "stage": action.get("stage") or "", "reason": reason, "started": started,
            "duration": round(now - started, 3)}


def _probe_db(view, settings, skip):
    """``{minion: heal_probe answer}`` of the db members but ``skip`` (a short LocalClient call)."""
    import salt.client  # pylint: disable=import-outside-toplevel

    others = [m for m in ((view or {}).get("roles") or {}).get("db") or [] if m != skip]
    if not others:
        return {}
    with salt.client.get_local_client(__opts__["conf_file"]) as client:
        returns = client.cmd(others, "hastack.heal_probe", kwarg={"services": []}, tgt_type="list",
                             timeout=settings["answer_timeout"], gather_job_timeout=settings["answer_timeout"])
    return {m: r for m, r in (returns or {}).items() if isinstance(r, dict)}


def heal(event_data=None, step="begin", view=None, error=""):
    """
    The entry of every ``orch/heal/*`` orchestration.

    ``step=begin`` classifies the event, admits the heal and takes its
    cluster's lock, firing ``hastack/heal/<cluster>/start``; it fails (so the
    orchestration stops) when there is nothing to heal, the heal duplicates
    one running or just finished, or it is refused (``refused`` fired: switch
    off, maintenance, cluster busy) or given up (``gave_up`` fired: too many
    failures). ``step=done`` / ``step=failed`` release the lock and fire
    ``done`` / ``failed`` (and ``gave_up`` when this failure reaches the
    backoff limit); ``step=refused`` releases it after a safety check of the
    orchestration refused to act (``refused`` fired, no backoff count).

    event_data
        ``{"tag": ..., "data": ...}`` of the event, as the reactor passed it.
    view
        The stack view (``hastack.mapdata``: ``heal``, ``watch``, ``roles``,
        ``stack_minions``); loaded as orchestrations see it when omitted.
    error
        With ``step=failed``: what failed.

    CLI Example:

    .. code-block:: bash

        salt-run hastack_heal.heal \
            '{"tag": "salt/beacon/ctl2/service/memcached", "data": {"memcached": {"running": false}}}'
    """
    event_data = event_data if isinstance(event_data, dict) else {}
    view = view if isinstance(view, dict) else _load_view()
    settings = settings_of(view)
    action, why = classify(event_data.get("tag"), event_data.get("data"), view)
    if action is None:
        return _fail({"run": False, "verdict": "nothing", "reason": why})
    directory = _dir()
    now = time.time()
    key = heal_key(action)

    if step in ("done", "failed", "refused"):
        reason = error or action.get("reason") or ""

        def ended(record):
            return dict(_event_payload(action, record.get("heal_id") or "", float(record.get("taken") or now),
                                       now, reason), key=key, phase=step, finished=now)
        record, _, history = finish_heal(directory, action["cluster"], key, ended, settings.get("history", 200))
        if step == "done" and action.get("action") == "host_back":
            with _guard(directory):
                memory = host_back_finished(_read_json(directory / "reconcile.json", {}), action["target"])
                _write_json(directory / "reconcile.json", memory)
        started = float(record.get("taken") or now)
        heal_id = record.get("heal_id") or ""
        _fire(f"{EVENT_PREFIX}/{action['cluster']}/{step}", _event_payload(action, heal_id, started, now, reason))
        if step == "failed":
            backoff = settings["backoff"]
            failures = failures_in_window(history, action["cluster"], now, float(backoff["window"]))
            if len(failures) >= int(backoff["max_failures"]):
                _fire(f"{EVENT_PREFIX}/{action['cluster']}/gave_up",
                      dict(_event_payload(action, heal_id, started, now, reason), failures=len(failures)))
        return {"run": True, "verdict": step, "heal_id": heal_id, "duration": round(now - started, 3)}

    if step != "begin":
        return _fail({"run": False, "verdict": "error", "reason": f"unknown step {step!r}"})

    if action.get("action") == "galera_outage" and "silent" not in action:
        # The Galera beacon knows only its own host: ask the other db hosts.
        action["silent"] = _silent_minions((view.get("roles") or {}).get("db") or [], settings)
    history = _read_json(directory / "history.json", [])
    lost = (_read_json(directory / "reconcile.json", {}).get("lost") or {})
    verdict, reason = admit(action, now, settings, _maintenance(), history, live_locks(directory, now),
                            observed=observed_at(event_data.get("data")), lost=sorted(lost))
    heal_id = f"{action['cluster']}-{int(now)}-{uuid.uuid4().hex[:6]}"
    if verdict == "run" and action.get("cluster") == "galera" and action.get("action") == "restart_service":
        deferred = galera_outage_defers(action, view, _probe_db(view, settings, action.get("target")))
        if deferred:
            verdict, reason = "refused", deferred
    if verdict == "run":
        taken, holder = take_lock(directory, action, heal_id, now, settings["lock_ttl"], os.getpid())
        if not taken:
            verdict, reason = "refused", f"cluster {action['cluster']} is busy ({holder.get('heal_id')})"
    payload = _event_payload(action, heal_id, now, now, reason)
    if verdict == "run":
        append_history(directory, dict(payload, key=key, phase="start"), settings.get("history", 200))
        _fire(f"{EVENT_PREFIX}/{action['cluster']}/start", payload)
        return {"run": True, "verdict": "run", "heal_id": heal_id, "action": action}
    if verdict in ("refused", "gave_up"):
        append_history(directory, dict(payload, key=key, phase=verdict, finished=now), settings.get("history", 200))
        _fire(f"{EVENT_PREFIX}/{action['cluster']}/{verdict}", payload)
    return _fail({"run": False, "verdict": verdict, "reason": reason})


def _silent_minions(minions, settings):
    """Sorted minions that do not answer a ping within ``answer_timeout``."""
    import salt.client  # pylint: disable=import-outside-toplevel

    if not minions:
        return []
    with salt.client.get_local_client(__opts__["conf_file"]) as client:
        returns = client.cmd(list(minions), "test.ping", tgt_type="list", timeout=settings["answer_timeout"],
                             gather_job_timeout=settings["answer_timeout"])
    return sorted(m for m in minions if (returns or {}).get(m) is not True)


def probe_services(view):
    """Sorted union of the services any stack host must run."""
    return sorted({s for m in (view or {}).get("stack_minions") or [] for s in wanted_services(view, m)})


def probe_processes(view):
    """{service: command-line signature} of the watched services found by their process."""
    found = {}
    for spec in ((view or {}).get("watch") or {}).values():
        found.update(spec.get("processes") or {})
    return dict(sorted(found.items()))


def reconcile(view=None):
    """
    Ask every stack host, with a short timeout, whether its services run and
    (db hosts) its wsrep status, compare with what its roles want, and fire
    ``hastack/heal/reconcile/<kind>/...`` for every difference: a service
    down, a host silent past ``heal:host_grace`` (``host_lost``), a lost host
    answering again (``host_back``), no Primary Galera component
    (``galera_no_primary``). The reactors turn them into heals. Does nothing
    while ``heal:enabled`` is false. Looped by the ``hastack_heal`` engine
    (``_engines/``), which sleeps the returned ``interval``.

    CLI Example:

    .. code-block:: bash

        salt-run hastack_heal.reconcile
    """
    import salt.client  # pylint: disable=import-outside-toplevel

    view = view if isinstance(view, dict) else _load_view(stop_if_off=True)
    settings = settings_of(view)
    if not settings.get("enabled", True):
        return {"enabled": False, "events": [], "interval": settings["reconcile_interval"]}
    minions = sorted(view.get("stack_minions") or [])
    answers = {}
    asked = time.time()
    if minions:
        with salt.client.get_local_client(__opts__["conf_file"]) as client:
            probe = {"services": probe_services(view), "processes": probe_processes(view)}
            returns = client.cmd(minions, "hastack.heal_probe", kwarg=probe, tgt_type="list",
                                 timeout=settings["answer_timeout"],
                                 gather_job_timeout=settings["answer_timeout"])
        answers = {m: r for m, r in (returns or {}).items() if isinstance(r, dict)}
    directory = _dir()
    now = time.time()
    failing = set()
    with _guard(directory):
        memory = _read_json(directory / "reconcile.json", {})
        events, memory = reconcile_events(view, answers, memory, now, asked=asked)
        _write_json(directory / "reconcile.json", memory)
        for tag, data in events:
            data["observed"] = asked
            found, _ = classify(tag, data, view)
            if found:
                failing.add(heal_key(found))
        # Heals whose orchestration died (a master restart): closed here, or
        # they would stay "started" for ever.
        orphans = orphaned_heals(_read_json(directory / "history.json", []), live_locks(directory, now), now)
        closed = []
        for entry, phase in close_orphans(orphans, failing, silent=set(minions) - set(answers)):
            why = ("its orchestration ended before it did; the reconciler sees the failure healed"
                   if phase == "done" else
                   "its orchestration ended before it did; the failure is still there, a new heal takes over")
            closed.append(dict(entry, phase=phase, finished=now, reason=why,
                               duration=round(now - float(entry.get("started") or now), 3)))
        if closed:
            _append_unguarded(directory, closed, settings.get("history", 200))
    for entry in closed:
        _fire(f"{EVENT_PREFIX}/{entry.get('cluster')}/{entry['phase']}",
              {k: entry.get(k) for k in ("heal_id", "cluster", "action", "target", "service", "stage", "reason",
                                         "started", "duration")})
    for tag, data in events:
        _fire(tag, data)
    return {"enabled": True, "answered": sorted(answers), "silent": sorted(set(minions) - set(answers)),
            "events": [tag for tag, _ in events], "closed": [e["heal_id"] for e in closed],
            "interval": settings["reconcile_interval"]}


def forget_check(node, view=None):
    """
    Whether a lost RabbitMQ host may be forgotten now: asks the other mq
    hosts for their cluster status and applies ``forget_decision``. Fails
    (the orchestration stops, ``refused`` is fired) when it may not.

    CLI Example:

    .. code-block:: bash

        salt-run hastack_heal.forget_check ctl3
    """
    import salt.client  # pylint: disable=import-outside-toplevel

    view = view if isinstance(view, dict) else _load_view()
    settings = settings_of(view)
    members = list((view.get("roles") or {}).get("mq") or [])
    prefix = (view.get("rabbitmq") or {}).get("node_prefix", "rabbit")
    others = [m for m in members if m != node]
    statuses = {}
    if others:
        with salt.client.get_local_client(__opts__["conf_file"]) as client:
            statuses = client.cmd(others, "hastack_rabbitmq.status", tgt_type="list",
                                  timeout=settings["answer_timeout"] * 5,
                                  gather_job_timeout=settings["answer_timeout"])
    ok, reason, via = forget_decision(f"{prefix}@{node}", statuses, [f"{prefix}@{m}" for m in members])
    result = {"ok": ok, "reason": reason, "via": via}
    if not ok:
        _fire(f"{EVENT_PREFIX}/rabbitmq/refused",
              {"cluster": "rabbitmq", "action": "forget_host", "target": node, "reason": reason})
        return _fail(result)
    return result


def master_config(settings=None):
    """
    The master's ``reactor:`` and ``engines:`` settings of the auto-heal,
    as a dict (``hastack/files/master.d/hastack-heal.conf`` is this for the
    default settings). ``settings`` is the ``heal:`` block; only
    ``reconcile_interval`` is read.
    """
    interval = int(settings_of({"heal": settings or {}})["reconcile_interval"])
    return {
        "reactor": [
            {"salt/beacon/*/service/*": ["salt://reactor/service.sls"]},
            {"salt/beacon/*/hastack_rabbitmq/stopped": ["salt://reactor/service.sls"]},
            {"salt/beacon/*/hastack_galera/non-primary": ["salt://reactor/galera.sls"]},
            {"hastack/heal/reconcile/service_down/*": ["salt://reactor/service.sls"]},
            {"hastack/heal/reconcile/galera_no_primary/*": ["salt://reactor/galera.sls"]},
            {"hastack/heal/reconcile/host_lost/*": ["salt://reactor/host_lost.sls"]},
            {"hastack/heal/reconcile/host_back/*": ["salt://reactor/host_back.sls"]},
        ],
        "engines": [{"hastack_heal": {"interval": interval}}],
    }


def show_master_config():
    """
    The master config of the auto-heal for this stack's ``heal:`` settings,
    as YAML for ``/etc/salt/master.d/hastack-heal.conf``.

    CLI Example:

    .. code-block:: bash

        salt-run --out txt hastack_heal.show_master_config
    """
    import salt.utils.yaml  # pylint: disable=import-outside-toplevel

    return salt.utils.yaml.safe_dump(master_config(_load_view().get("heal")), default_flow_style=False)
