"""
Galera (MariaDB 10.11 / galera-4) helpers for recovering from a full outage.

After every node of the cluster went down, one node has to be started with
``--wsrep-new-cluster`` (bootstrapped) and the others started normally so they
rejoin it. Picking the wrong node loses the transactions only the others had.
This module gathers each node's last committed position (``position``), picks
the node to bootstrap (``choose``) and bootstraps it (``bootstrap``).

The logic lives in plain functions that take plain text or dicts
(``parse_grastate``, ``parse_gvwstate``, ``parse_wsrep_recover``,
``parse_status``, ``choose_bootstrap``); the Salt-facing functions only gather
the data and call them.
"""

import logging
import os
import re
import time

import salt.utils.path
import salt.utils.systemd
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack_galera"

DEFAULT_DATADIR = "/var/lib/mysql"
DEFAULT_SOCKET = "/run/mysqld/mysqld.sock"
INIT_SCRIPT = "/etc/init.d/mariadb"
# Galera writes this UUID for a node that holds no cluster state: it never
# joined a cluster, or its state was reset (e.g. an interrupted SST).
NIL_UUID = "00000000-0000-0000-0000-000000000000"
# wsrep_local_state 4 = Synced.
SYNCED_STATE = "4"

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# mariadbd prints "WSREP: Recovered position: <uuid>:<seqno>" and, with
# wsrep_gtid_mode, ",<domain>-<server>-<seqno>" after it. The fixed-width UUID
# pattern must be followed by ':' and the seqno, so digit runs inside the UUID
# can never be taken for the seqno (the kolla-ansible bug LP#1834467 split on
# the wrong colon/digits). "Recovered position from storage:" (printed after
# an SST, not by --wsrep-recover) does not match because of the colon.
_RECOVERED_RE = re.compile(
    r"Recovered position:\s*(?P<uuid>" + _UUID + r"):(?P<seqno>-?\d+)(?![\d])"
)


def __virtual__():
    if salt.utils.path.which("mariadb") or salt.utils.path.which("mysql"):
        return __virtualname__
    # The orchestrations call the pure decision (``choose``) on the master,
    # which need not have MariaDB installed; the functions that need the
    # binaries raise a clear error there.
    try:
        if __opts__.get("__role") == "master":
            return __virtualname__
    except NameError:
        pass
    return (False, "hastack_galera: mariadb/mysql client binaries not found")


# --------------------------------------------------------------------------
# Pure logic: text or plain dicts in, plain values out. Unit tests call these.
# --------------------------------------------------------------------------


def _as_int(value, default):
    """``value`` as an int, or ``default`` when it is missing or not a number."""
    if isinstance(value, bool):
        return default
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _key_values(text):
    """Yield (key, value) from ``key: value`` lines, skipping blanks and comments."""
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        yield key.strip(), value.strip()


def parse_grastate(text):
    """
    Parse the text of ``grastate.dat``.

    Returns ``{"version", "uuid", "seqno", "safe_to_bootstrap"}``. ``seqno`` is
    -1 when Galera did not record a position (the node crashed or is running)
    or the file does not say; ``safe_to_bootstrap`` is 0 unless the file says 1.
    ``version`` and ``uuid`` are None when absent.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.parse_grastate "$(cat /var/lib/mysql/grastate.dat)"
    """
    state = {"version": None, "uuid": None, "seqno": -1, "safe_to_bootstrap": 0}
    for key, value in _key_values(text):
        if key == "version":
            state["version"] = value
        elif key == "uuid":
            state["uuid"] = value.lower() or None
        elif key == "seqno":
            # An unreadable seqno must count as "unknown", never as a position.
            state["seqno"] = _as_int(value, -1)
        elif key == "safe_to_bootstrap":
            state["safe_to_bootstrap"] = 1 if _as_int(value, 0) == 1 else 0
    return state


def parse_gvwstate(text):
    """
    Parse the text of ``gvwstate.dat``, the last Primary view Galera saved for
    ``pc.recovery``. It exists only after an unclean stop.

    Returns ``{"my_uuid", "view_type", "view_uuid", "view_seq", "bootstrap",
    "members": [{"uuid", "segment"}, ...]}``, or None when the text holds
    neither ``my_uuid`` nor a view.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.parse_gvwstate "$(cat /var/lib/mysql/gvwstate.dat)"
    """
    view = {
        "my_uuid": None,
        "view_type": None,
        "view_uuid": None,
        "view_seq": None,
        "bootstrap": None,
        "members": [],
    }
    for key, value in _key_values(text):
        fields = value.split()
        if key == "my_uuid":
            view["my_uuid"] = value.lower() or None
        elif key == "view_id" and len(fields) >= 3:
            # "view_id: <type> <uuid> <seq>"
            view["view_type"] = _as_int(fields[0], None)
            view["view_uuid"] = fields[1].lower()
            view["view_seq"] = _as_int(fields[2], None)
        elif key == "bootstrap":
            view["bootstrap"] = _as_int(value, None)
        elif key == "member" and fields:
            # "member: <uuid> <segment>"
            segment = _as_int(fields[1], None) if len(fields) > 1 else None
            view["members"].append({"uuid": fields[0].lower(), "segment": segment})
    if view["my_uuid"] is None and view["view_uuid"] is None:
        return None
    return view


def parse_wsrep_recover(text):
    """
    Find the recovered position in the output or error log of
    ``mariadbd --wsrep-recover``.

    Returns ``{"uuid", "seqno"}`` of the last ``Recovered position:`` line, or
    None when there is none (recovery failed, or wsrep is off and mariadbd
    said it is skipping position recovery). A position of ``<nil uuid>:-1``
    is returned as is: the caller decides it means "nothing recorded".

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.parse_wsrep_recover "$(cat /tmp/wsrep_recovery.log)"
    """
    matches = list(_RECOVERED_RE.finditer(text or ""))
    if not matches:
        return None
    last = matches[-1]
    return {"uuid": last.group("uuid").lower(), "seqno": int(last.group("seqno"))}


def parse_status(text):
    """
    Parse ``mariadb -N -B`` output of ``SHOW GLOBAL STATUS`` (one
    ``name<TAB>value`` row per line) into ``{name: value}``; names lowercased,
    values kept as strings.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.parse_status "$(cat wsrep_status.tsv)"
    """
    status = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, _, value = line.partition("\t")
        status[name.strip().lower()] = value.strip()
    return status


def synced_from_status(status):
    """
    True when a ``status()`` dict says the node is Synced, ready and in the
    Primary component.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.synced_from_status \
            '{"wsrep_local_state": "4", "wsrep_ready": "ON", "wsrep_cluster_status": "Primary"}'
    """
    status = status or {}
    return (
        str(status.get("wsrep_local_state", "")).strip() == SYNCED_STATE
        and str(status.get("wsrep_ready", "")).strip().upper() == "ON"
        and str(status.get("wsrep_cluster_status", "")).strip() == "Primary"
    )


def _cluster_uuid(pos):
    """The node's cluster UUID: grastate's, else the recovered one; None if nil."""
    for key in ("uuid", "recovered_uuid"):
        value = pos.get(key)
        if isinstance(value, str) and value.strip() and value.strip().lower() != NIL_UUID:
            return value.strip().lower()
    return None


def _effective_seqno(pos):
    """grastate's seqno when recorded (>= 0), else the --wsrep-recover one, else None."""
    seqno = _as_int(pos.get("seqno"), -1)
    if seqno >= 0:
        return seqno
    recovered = _as_int(pos.get("recovered_seqno"), -1)
    return recovered if recovered >= 0 else None


def _names(minions):
    return ", ".join(minions)


def _refuse(reason):
    return {"ok": False, "bootstrap": None, "reason": reason, "order": []}


def choose_bootstrap(positions, members, allow_partial=False, force=None):
    """
    Decide which member to bootstrap after a full outage.

    ``positions`` maps minion id -> position dict (what ``position()`` returns:
    ``uuid``, ``seqno`` (-1 = not recorded), ``safe_to_bootstrap`` (0/1),
    ``recovered_uuid``/``recovered_seqno`` (from ``--wsrep-recover``, may be
    None), ``running`` and ``cluster_status``), or None for a minion that did
    not answer. ``members`` lists the data nodes in the configured order
    (an arbitrator holds no data and must not be listed). Entries of
    ``positions`` for minions not in ``members`` are ignored.

    Returns ``{"ok", "bootstrap", "reason", "order"}``: ``bootstrap`` is the
    minion to bootstrap (None on refusal), ``order`` the other answering
    members in the order to start them, and ``reason`` a sentence saying why.

    Terms: a node's *cluster UUID* is grastate's ``uuid``, or the recovered
    one when grastate has the nil UUID. Its *effective seqno* is grastate's
    ``seqno`` when >= 0, else ``recovered_seqno`` when >= 0, else unknown.
    A node whose cluster UUID is nil/missing is *empty*: it holds no cluster
    state, is never a candidate, and rejoins by full SST. A node with a
    cluster UUID but no effective seqno has an *unknown* position.

    Rules, checked in this order:

    1. Any member still running refuses: if it is in a Primary component the
       cluster is up and recovery is not needed (start the others normally);
       otherwise stop it first so its position can be read. ``force`` does not
       skip this rule (bootstrapping beside a running node risks split brain).
    2. ``force=<minion>``: it must be a member that answered, else refuse.
       Then it is chosen and rules 3-8 are skipped; the reason says it was
       forced and warns when it is not at the highest seqno or is empty.
    3. A member that did not answer refuses, unless ``allow_partial``.
    4. A member with an unknown position refuses, unless ``allow_partial``,
       which leaves it out of the choice (it still rejoins, last).
    5. Answering members must share one cluster UUID (empty nodes aside);
       different UUIDs mean different histories, so refuse even with
       ``allow_partial``.
    6. With ``allow_partial``, the members with a usable position (known or
       empty) must be a strict majority of ``members``, else refuse: the
       missing ones may hold later transactions.
    7. ``safe_to_bootstrap: 1`` is written by Galera only on the last node to
       leave a Primary component, so it can be true on one node at most.
       Refuse as ambiguous when several members claim it (hand-edited files or
       a split brain: any choice can drop the other side's writes), or when
       the one claiming it has an unknown position.
    8. Choose the highest effective seqno. Equal ``uuid:seqno`` means the same
       committed state, so a tie loses nothing: prefer the tied member marked
       ``safe_to_bootstrap: 1``, else the first in ``members`` order. A member
       marked safe but at a LOWER seqno is not chosen; the higher seqno wins
       and the reason notes it. No member with a known position: refuse.

    ``order`` lists the other answering members: known positions by seqno,
    highest first (ties in ``members`` order), then unknown and empty ones.

    CLI Example:

    .. code-block:: bash

        salt-call hastack_galera.choose_bootstrap \
            '{"db1": {"uuid": "6f5a3c7e-1c2b-11ef-8a6f-2e1f3c4d5e6f", "seqno": 12}}' '["db1"]'
    """
    members = list(dict.fromkeys(members or []))  # de-duplicate, keep order
    if not members:
        return _refuse("No members were given, so there is nothing to choose from.")
    positions = positions or {}
    answered = [m for m in members if isinstance(positions.get(m), dict)]
    missing = [m for m in members if m not in answered]

    # Rule 1: a running node means either no outage or a node we cannot read.
    primary = [
        m for m in answered
        if positions[m].get("running") and positions[m].get("cluster_status") == "Primary"
    ]
    if primary:
        return _refuse(
            f"Recovery is not needed: {_names(primary)} is running in a Primary "
            "component; start the other members normally so they rejoin it."
        )
    running = [m for m in answered if positions[m].get("running")]
    if running:
        return _refuse(
            f"{_names(running)} is still running but not in a Primary component; "
            "stop MariaDB there first so its position can be read."
        )

    cluster_uuid = {m: _cluster_uuid(positions[m]) for m in answered}
    seqno = {m: _effective_seqno(positions[m]) for m in answered}
    safe = {m: _as_int(positions[m].get("safe_to_bootstrap"), 0) == 1 for m in answered}
    known = [m for m in answered if cluster_uuid[m] and seqno[m] is not None]
    unknown = [m for m in answered if cluster_uuid[m] and seqno[m] is None]
    empty = [m for m in answered if not cluster_uuid[m]]
    top = max((seqno[m] for m in known), default=None)

    def rejoin_order(chosen):
        # Most advanced first: they need the smallest catch-up (IST) from the
        # bootstrapped node. Sorting is stable, so ties keep member order.
        ahead = sorted((m for m in known if m != chosen), key=lambda m: -seqno[m])
        rest = [m for m in answered if (m in unknown or m in empty) and m != chosen]
        return ahead + rest

    # Rule 2: the operator's choice, as long as the node can be reached.
    if force is not None:
        if force not in members:
            return _refuse(
                f"The forced node {force} is not a member (members: {_names(members)})."
            )
        if force in missing:
            return _refuse(f"The forced node {force} did not answer, so it cannot be bootstrapped.")
        reason = f"{force} was forced by the operator; the automatic checks were skipped."
        if force in empty:
            reason += (
                f" Warning: {force} holds no cluster state, so bootstrapping it starts"
                " an empty history and the others will be overwritten by SST."
            )
        elif force in unknown:
            reason += f" Warning: the position of {force} is unknown."
        elif top is not None and seqno[force] < top:
            ahead = [m for m in known if seqno[m] > seqno[force]]
            reason += (
                f" Warning: {force} is at seqno {seqno[force]} but {_names(ahead)} "
                f"reached {top}; their later transactions will be lost."
            )
        return {"ok": True, "bootstrap": force, "reason": reason, "order": rejoin_order(force)}

    # Rule 3: a silent member may hold the latest transactions.
    if missing and not allow_partial:
        return _refuse(
            f"{_names(missing)} did not answer, so its position is unknown and may be "
            "the most advanced; bring it back, or pass allow_partial (needs a strict "
            "majority) or force."
        )

    # Rule 4: same for a member that answered but could not tell its position.
    if unknown and not allow_partial:
        return _refuse(
            f"The position of {_names(unknown)} is unknown (grastate.dat has seqno -1 "
            "and --wsrep-recover found no position); fix its recovery, or pass "
            "allow_partial to leave it out, or force."
        )

    # Rule 5: different cluster UUIDs are different histories; seqnos don't compare.
    by_uuid = {}
    for m in answered:
        if cluster_uuid[m]:
            by_uuid.setdefault(cluster_uuid[m], []).append(m)
    if len(by_uuid) > 1:
        groups = "; ".join(f"{_names(ms)} has {u}" for u, ms in by_uuid.items())
        return _refuse(
            f"The members disagree on the cluster UUID ({groups}); their histories "
            "differ, so no seqno comparison is safe. Inspect them and use force."
        )

    # Rule 6: a partial choice is only trusted when a strict majority reported.
    usable = known + empty
    if allow_partial and (missing or unknown) and 2 * len(usable) <= len(members):
        needed = len(members) // 2 + 1
        left_out = [m for m in members if m in missing or m in unknown]
        return _refuse(
            f"Only {len(usable)} of {len(members)} members have a usable position "
            f"({_names(usable) or 'none'}); even with allow_partial a strict majority "
            f"({needed}) is needed, because {_names(left_out)} may hold later transactions."
        )

    # Rule 7: safe_to_bootstrap can be true on one node only.
    claims = [m for m in answered if safe[m] and cluster_uuid[m]]
    if len(claims) > 1:
        return _refuse(
            f"Ambiguous: {_names(claims)} are all marked safe_to_bootstrap: 1, but Galera "
            "sets it only on the last node to leave the Primary component; this means "
            "edited grastate.dat files or a split brain. Inspect them and use force."
        )
    if claims and claims[0] in unknown:
        return _refuse(
            f"Ambiguous: {claims[0]} is marked safe_to_bootstrap: 1 but its position is "
            "unknown, so it may be the most advanced. Fix its recovery or use force."
        )

    # Rule 8: highest seqno; ties are the same state, so pick deterministically.
    if top is None:
        return _refuse(
            "No member has a known position: all answering members hold no cluster "
            "state. This is a new cluster, not an outage; use the initial bootstrap."
        )
    tied = [m for m in known if seqno[m] == top]
    tied_safe = [m for m in tied if safe[m]]
    chosen = tied_safe[0] if tied_safe else tied[0]
    reason = f"{chosen} has the highest seqno ({top})"
    if tied_safe:
        reason += " and is marked safe_to_bootstrap: 1"
    if len(tied) > 1:
        others = [m for m in tied if m != chosen]
        how = "the one marked safe" if tied_safe else "the first in member order"
        reason += (
            f"; {_names(others)} has the same seqno, which is the same committed state,"
            f" so {how} was chosen"
        )
    reason += "."
    lower_claims = [m for m in claims if m not in tied]
    if lower_claims:
        m = lower_claims[0]
        reason += (
            f" {m} is marked safe_to_bootstrap: 1 but is at the lower seqno "
            f"{seqno[m]}; the higher seqno wins so no committed transaction is lost."
        )
    if missing or unknown:
        left_out = [m for m in members if m in missing or m in unknown]
        reason += (
            f" allow_partial: {_names(left_out)} was left out; it must rejoin "
            "(IST/SST) once it is back."
        )
    return {"ok": True, "bootstrap": chosen, "reason": reason, "order": rejoin_order(chosen)}


def _answers(raw, members):
    """
    ``{member: value}`` from a ``saltutil.cmd`` return (``{minion: {"ret": ...}}``)
    or a plain mapping; a member that did not answer (or answered with an error
    string) maps to None.
    """
    raw = raw if isinstance(raw, dict) else {}
    found = {}
    for member in members:
        value = raw.get(member)
        if isinstance(value, dict) and "ret" in value:
            value = value["ret"]
        found[member] = value if isinstance(value, bool) else None
    return found


def deploy_plan(has_state, running, members):
    """
    Decide how ``hastack.deploy`` brings the db members up.

    ``has_state`` and ``running`` map each member to True/False (does its
    datadir hold ``grastate.dat``; does MariaDB run), raw ``saltutil.cmd``
    returns accepted; a member missing from either did not answer.

    Returns ``{"ok", "bootstrap", "reason"}``:

    - a member runs with cluster state: ``ok``, no bootstrap; the others join
      through it (a server running without Galera, with no state, does not count);
    - every member answered, none runs and none holds cluster state: a brand
      new cluster, ``bootstrap`` is the first member;
    - otherwise nothing can start safely: not ``ok``, and ``reason`` says why
      and names the orchestration that can (a full outage needs
      ``hastack.galera.recover``, which picks the member with the last
      committed transaction).

    CLI Example:

    .. code-block:: bash

        salt-call hastack_galera.deploy_plan '{"db1": true}' '{"db1": false}' '["db1"]'
    """
    members = list(dict.fromkeys(members or []))
    if not members:
        return {"ok": True, "bootstrap": None, "reason": "There are no db members."}
    state = _answers(has_state, members)
    live = _answers(running, members)
    silent = [m for m in members if state[m] is None or live[m] is None]
    # A server without grastate.dat runs without Galera (e.g. started by the
    # package's postinst): nothing can join it, and the state restarts it.
    up = [m for m in members if live[m] and state[m]]
    if up:
        return {"ok": True, "bootstrap": None,
                "reason": f"{_names(up)} runs; the other members join through it."}
    holding = [m for m in members if state[m]]
    if not silent and not holding:
        return {"ok": True, "bootstrap": members[0],
                "reason": f"No member holds cluster state: a new cluster, bootstrapped from {members[0]}."}
    recover = "salt-run state.orch hastack.galera.recover"
    if holding:
        reason = (
            f"Galera is down on every member ({_names(m for m in members if m not in silent)}"
            f"{'; no answer from ' + _names(silent) if silent else ''}) and cluster state is "
            f"held by {_names(holding)}: this is a full outage, not a new cluster, and starting a "
            f"member could not join anything. Run `{recover}` (it bootstraps the member with "
            "the last committed transaction, or refuses and says why), then run hastack.deploy again."
        )
    else:
        reason = (
            f"{_names(silent)} did not answer, so it may hold cluster state: a new cluster is "
            "bootstrapped only when every member answers and none holds state. Bring it back "
            f"and run hastack.deploy again, or, if it held data, run `{recover}`."
        )
    return {"ok": False, "bootstrap": None, "reason": reason}


def _normalize_positions(positions):
    """
    Accept positions as returned by orchestration and reduce them to
    ``{minion: position dict or None}``: unwrap the ``{"ret": {...}}`` of a
    ``salt.function`` state and per-minion ``{"ret": ..., "retcode": ...}``;
    anything that is not a dict (an error string, False) means "no answer".
    """
    if not isinstance(positions, dict):
        return {}
    wrapper_keys = {"ret", "out", "retcode", "jid", "success"}
    if isinstance(positions.get("ret"), dict) and set(positions) <= wrapper_keys:
        positions = positions["ret"]
    normalized = {}
    for minion, value in positions.items():
        if isinstance(value, dict) and "ret" in value and set(value) <= wrapper_keys:
            value = value["ret"]
        normalized[minion] = value if isinstance(value, dict) else None
    return normalized


# --------------------------------------------------------------------------
# Salt-facing functions.
# --------------------------------------------------------------------------


def _client():
    client = salt.utils.path.which("mariadb") or salt.utils.path.which("mysql")
    if not client:
        raise CommandExecutionError("hastack_galera: mariadb/mysql client not found")
    return client


def _server_binary():
    return (
        salt.utils.path.which("mariadbd")
        or salt.utils.path.which("mysqld")
        or "/usr/sbin/mariadbd"
    )


def _read(path):
    """File content, or None when it does not exist."""
    if not __salt__["file.file_exists"](path):
        return None
    return __salt__["file.read"](path)


def _running():
    """True when a mariadbd (or legacy mysqld) process exists."""
    res = __salt__["cmd.run_all"](
        ["pgrep", "-x", "mariadbd|mysqld"], python_shell=False, ignore_retcode=True
    )
    return res.get("retcode") == 0


def _runtime_dir_present(socket):
    """
    Create the socket's directory (``/run/mysqld``) like the init script or
    systemd's RuntimeDirectory would. After a reboot ``/run`` is empty, and
    ``mariadbd --wsrep-recover`` aborts ("Bind on unix socket: No such file or
    directory") before it reports a position.
    """
    runtime_dir = os.path.dirname(socket)
    if runtime_dir and not os.path.isdir(runtime_dir):
        __salt__["file.mkdir"](runtime_dir, user="mysql", group="root", mode="0755")


def _recover(datadir, timeout, socket=DEFAULT_SOCKET):
    """Run ``mariadbd --wsrep-recover``; return (position or None, error or None)."""
    _runtime_dir_present(socket)
    cmd = [
        _server_binary(),
        "--wsrep-recover",
        "--user=mysql",
        f"--datadir={datadir}",
        # Like mysqld_safe and galera_recovery: log to stderr, which we capture.
        # A --log-error file would be opened after mariadbd dropped to the mysql
        # user, so it would have to be a mysql-writable file in a shared tmp dir.
        "--disable-log-error",
        # Keep the real pid file alone.
        f"--pid-file={os.path.join(datadir, 'wsrep-recover.pid')}",
    ]
    res = __salt__["cmd.run_all"](
        cmd, python_shell=False, ignore_retcode=True, timeout=timeout
    )
    output = "\n".join(filter(None, [res.get("stdout"), res.get("stderr")]))
    recovered = parse_wsrep_recover(output)
    if recovered is None:
        tail = "\n".join(output.splitlines()[-20:])
        return None, f"--wsrep-recover found no position (rc {res.get('retcode')}): {tail}"
    return recovered, None


def position(datadir=DEFAULT_DATADIR, timeout=900, socket=DEFAULT_SOCKET):
    """
    Report this node's Galera position, as one entry for ``choose``.

    Reads ``grastate.dat`` and ``gvwstate.dat`` in ``datadir``. When grastate
    has no seqno (-1, i.e. the node crashed) and mariadbd is not running, runs
    ``mariadbd --wsrep-recover`` (InnoDB crash recovery; may take a while,
    bounded by ``timeout`` seconds) to read the position from InnoDB. The
    directory of ``socket`` is created first when it is missing (a rebooted
    host has an empty ``/run``).

    Returns ``{"uuid", "seqno", "safe_to_bootstrap", "recovered_uuid",
    "recovered_seqno", "running", "cluster_status", "gvwstate", "errors"}``.

    CLI Example:

    .. code-block:: bash

        salt -C 'I@hastack:roles:db:*' hastack_galera.position
    """
    pos = {
        "uuid": None,
        "seqno": -1,
        "safe_to_bootstrap": 0,
        "recovered_uuid": None,
        "recovered_seqno": None,
        "running": False,
        "cluster_status": None,
        "gvwstate": None,
        "errors": [],
    }
    grastate = _read(os.path.join(datadir, "grastate.dat"))
    if grastate is None:
        pos["errors"].append(f"{datadir}/grastate.dat does not exist")
    else:
        state = parse_grastate(grastate)
        pos.update(uuid=state["uuid"], seqno=state["seqno"],
                   safe_to_bootstrap=state["safe_to_bootstrap"])
    pos["gvwstate"] = parse_gvwstate(_read(os.path.join(datadir, "gvwstate.dat")))

    pos["running"] = _running()
    if pos["running"]:
        # A running node's grastate says -1; its live state is what matters.
        try:
            pos["cluster_status"] = status().get("wsrep_cluster_status")
        except CommandExecutionError as exc:
            pos["errors"].append(str(exc))
        return pos

    if pos["seqno"] < 0:
        recovered, error = _recover(datadir, timeout, socket)
        if recovered:
            pos["recovered_uuid"] = recovered["uuid"]
            # "<uuid>:-1" means InnoDB holds no wsrep position either.
            pos["recovered_seqno"] = recovered["seqno"] if recovered["seqno"] >= 0 else None
        if error:
            pos["errors"].append(error)
    return pos


def status():
    """
    Return the ``wsrep_%`` global status variables as ``{name: value}``
    (strings). Connects as root through the unix socket. Raises an error when
    the server cannot be queried.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.status
    """
    res = __salt__["cmd.run_all"](
        [_client(), "-N", "-B", "-e", "SHOW GLOBAL STATUS LIKE 'wsrep_%'"],
        python_shell=False,
        ignore_retcode=True,
    )
    if res.get("retcode") != 0:
        raise CommandExecutionError(
            f"cannot read wsrep status: {(res.get('stderr') or res.get('stdout') or '').strip()}"
        )
    return parse_status(res.get("stdout"))


def sql_quote(value):
    """``value`` as a single-quoted SQL string literal (backslash and quote escaped)."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def query(sql, socket="/run/mysqld/mysqld.sock"):
    """
    Run ``sql`` as root through the unix socket (Debian's root authenticates
    by its OS user, so no password is involved) and return the result rows as
    lists of strings. The SQL goes to the client on stdin, so values in it
    (passwords) appear neither in the process list nor in the log. Raises an
    error when the client fails.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_galera.query 'SELECT User, Host FROM mysql.user'
    """
    res = __salt__["cmd.run_all"](
        [_client(), "--protocol=socket", f"--socket={socket}", "--user=root", "-N", "-B"],
        stdin=sql,
        python_shell=False,
        ignore_retcode=True,
        output_loglevel="quiet",
    )
    if res.get("retcode") != 0:
        raise CommandExecutionError(f"SQL failed: {(res.get('stderr') or '').strip()}")
    return [line.split("\t") for line in (res.get("stdout") or "").splitlines() if line]


_GRANT_RE = re.compile(r"^GRANT (?P<privs>.+?) ON (?P<target>\S+) TO ", re.IGNORECASE)


def parse_grants(lines):
    """
    ``SHOW GRANTS`` lines as ``{target: set of privileges}``, target without
    backticks (e.g. ``keystone.*``, ``*.*``), privileges upper case.
    """
    grants = {}
    for line in lines or []:
        match = _GRANT_RE.match(line.strip())
        if not match:
            continue
        target = match.group("target").replace("`", "")
        privs = {p.strip().upper() for p in match.group("privs").split(",") if p.strip()}
        grants.setdefault(target, set()).update(privs)
    return grants


def grants_missing(lines, target, privileges):
    """The privileges of ``privileges`` that ``SHOW GRANTS`` ``lines`` lack on ``target``."""
    have = parse_grants(lines).get(target.replace("`", ""), set())
    if "ALL PRIVILEGES" in have:
        return []
    wanted = [p.strip().upper() for p in privileges]
    if wanted == ["ALL PRIVILEGES"] or wanted == ["ALL"]:
        return [] if "ALL PRIVILEGES" in have else ["ALL PRIVILEGES"]
    return [p for p in wanted if p not in have]


def is_running():
    """
    True when a mariadbd (or mysqld) process runs on this host.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.is_running
    """
    return _running()


def wait_synced(timeout=300, interval=0.5):
    """
    Poll until this node is Synced in a Primary component, at most ``timeout``
    seconds. Returns ``{"result", "comment", "seconds"}``; the comment gives
    the last state seen when the deadline passed or mariadbd exited.

    CLI Example:

    .. code-block:: bash

        salt ctl2 hastack_galera.wait_synced timeout=600
    """
    started = time.monotonic()
    deadline = started + float(timeout)
    last = "no status yet"
    while True:
        try:
            current = status()
        except CommandExecutionError as exc:
            current = None
            last = str(exc)
        if current is not None:
            if synced_from_status(current):
                seconds = round(time.monotonic() - started, 1)
                return {
                    "result": True,
                    "comment": f"Synced in the Primary component after {seconds}s "
                    f"(cluster size {current.get('wsrep_cluster_size', '?')}).",
                    "seconds": seconds,
                }
            last = (
                f"wsrep_local_state_comment {current.get('wsrep_local_state_comment', '?')}, "
                f"wsrep_cluster_status {current.get('wsrep_cluster_status', '?')}, "
                f"wsrep_ready {current.get('wsrep_ready', '?')}"
            )
        elif not _running():
            # Give a starting server a moment to create its process, then judge.
            if time.monotonic() - started > 5:
                return {
                    "result": False,
                    "comment": f"mariadbd is not running ({last}); see the MariaDB error log.",
                    "seconds": round(time.monotonic() - started, 1),
                }
        if time.monotonic() >= deadline:
            return {
                "result": False,
                "comment": f"not Synced after {timeout}s ({last}).",
                "seconds": round(time.monotonic() - started, 1),
            }
        time.sleep(float(interval))


def is_synced():
    """
    True when this node is Synced (``wsrep_local_state`` 4), ready and in the
    Primary component; False otherwise, also when the server is down.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.is_synced
    """
    try:
        return synced_from_status(status())
    except CommandExecutionError as exc:
        log.debug("hastack_galera.is_synced: %s", exc)
        return False


def bootstrap(datadir=DEFAULT_DATADIR, new_cluster=False):
    """
    Bootstrap a new Primary component from this node: mark it
    ``safe_to_bootstrap: 1`` in grastate.dat and start MariaDB with
    ``--wsrep-new-cluster``. Does nothing when mariadbd is already running.
    Run it on the node ``choose`` picked, and only there.

    Without systemd this runs ``/etc/init.d/mariadb bootstrap``. With systemd
    it runs ``galera_new_cluster``, because the init script's inner
    ``start --wsrep-new-cluster`` would be redirected to ``systemctl start``,
    which drops the option.

    new_cluster
        The very first start of a brand-new cluster: a missing grastate.dat
        is expected then (the node never ran Galera), so the node is started
        with ``--wsrep-new-cluster`` without one. Without it a missing
        grastate.dat refuses, because recovery needs a recorded state.

    Returns ``{"result", "comment", "changes"}``.

    CLI Example:

    .. code-block:: bash

        salt db1 hastack_galera.bootstrap
        salt db1 hastack_galera.bootstrap new_cluster=True
    """
    if _running():
        synced = is_synced()
        return {
            "result": synced,
            "comment": "mariadbd is already running"
            + ("; this node is synced in a Primary component." if synced
               else " but not synced in a Primary component; not bootstrapping."),
            "changes": {},
        }
    grastate = os.path.join(datadir, "grastate.dat")
    changes = {}
    if __salt__["file.file_exists"](grastate):
        # file.replace edits in place, so grastate.dat keeps its mysql ownership.
        diff = __salt__["file.replace"](
            grastate,
            pattern=r"^safe_to_bootstrap:.*$",
            repl="safe_to_bootstrap: 1",
            append_if_not_found=True,
            backup=False,
        )
        if diff:
            changes["grastate"] = "safe_to_bootstrap set to 1"
    elif not new_cluster:
        return {
            "result": False,
            "comment": f"{grastate} does not exist; this node holds no cluster state"
            " to bootstrap from.",
            "changes": {},
        }

    if salt.utils.systemd.booted(__context__):
        cmd = [salt.utils.path.which("galera_new_cluster") or "/usr/bin/galera_new_cluster"]
    else:
        cmd = [INIT_SCRIPT, "bootstrap"]
    res = __salt__["cmd.run_all"](cmd, python_shell=False, ignore_retcode=True)
    output = "\n".join(filter(None, [res.get("stdout"), res.get("stderr")])).strip()
    if res.get("retcode") != 0:
        return {
            "result": False,
            "comment": f"{' '.join(cmd)} failed (rc {res.get('retcode')}): {output}",
            "changes": changes,
        }
    changes["bootstrapped"] = " ".join(cmd)
    return {"result": True, "comment": f"Bootstrapped a new cluster: {output}", "changes": changes}


def choose(positions, members, allow_partial=False, force=None):
    """
    Pick the node to bootstrap from the positions of several nodes; see
    ``choose_bootstrap`` for the rules. ``positions`` may be the raw return
    of ``salt.function hastack_galera.position`` (``{"ret": {minion: ...}}``)
    or of ``saltutil.cmd`` (``{minion: {"ret": ..., "retcode": ...}}``); a
    minion whose value is not a dict counts as not answering. ``members`` may
    be a list or a comma-separated string.

    CLI Example:

    .. code-block:: bash

        salt-call hastack_galera.choose "$positions_json" '["db1", "db2", "db3"]' \
            allow_partial=True
    """
    if isinstance(members, str):
        members = [m.strip() for m in members.split(",") if m.strip()]
    return choose_bootstrap(
        _normalize_positions(positions), members, allow_partial=allow_partial, force=force
    )
