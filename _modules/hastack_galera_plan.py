"""
Galera (MariaDB 10.11 / galera-4) decisions: what to bootstrap, and how.

Pure functions only: plain text or plain dicts in, plain values out. They run
anywhere, in particular on the salt master, where the orchestrations
(``orch/galera/deploy.sls``, ``orch/galera/recover.sls``) call them while
rendering; the master needs no MariaDB for this. The node runtime that gathers
the facts lives in ``hastack_galera`` (``position``, ``status``, ...), the SQL
helpers in ``hastack_galera_sql``.

- parsers: ``parse_grastate``, ``parse_gvwstate``, ``parse_wsrep_recover``,
  ``parse_status``, ``synced_from_status``;
- full-outage recovery: ``choose_bootstrap`` (the rules), ``choose`` (the same
  on raw orchestration returns), ``recover_plan`` (the decision plus the
  sentences ``hastack.galera.recover`` shows);
- first deployment: ``deploy_plan``.
"""

import re

__virtualname__ = "hastack_galera_plan"

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
    # Pure Python with no binary or service behind it: loads everywhere.
    return __virtualname__


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

        salt '*' hastack_galera_plan.parse_grastate "$(cat /var/lib/mysql/grastate.dat)"
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

        salt '*' hastack_galera_plan.parse_gvwstate "$(cat /var/lib/mysql/gvwstate.dat)"
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

        salt '*' hastack_galera_plan.parse_wsrep_recover "$(cat /tmp/wsrep_recovery.log)"
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

        salt '*' hastack_galera_plan.parse_status "$(cat wsrep_status.tsv)"
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

        salt '*' hastack_galera_plan.synced_from_status \
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

        salt-call hastack_galera_plan.choose_bootstrap \
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


def _deploy_steps(plan, members):
    """``plan`` with ``steps``: the members in apply order, each with its pillar."""
    steps = []
    if plan["ok"]:
        steps = [
            {"minion": m,
             "pillar": {"hastack": {"galera": {"bootstrap": m == plan["bootstrap"]}}}}
            for m in members
        ]
    return dict(plan, steps=steps)


def deploy_plan(has_state, running, members):
    """
    Decide how ``hastack.deploy`` brings the db members up.

    ``has_state`` and ``running`` map each member to True/False (does its
    datadir hold ``grastate.dat``; does MariaDB run), raw ``saltutil.cmd``
    returns accepted; a member missing from either did not answer.

    Returns ``{"ok", "bootstrap", "reason", "steps"}``; ``steps`` lists the
    members in the order ``hastack.deploy`` applies ``hastack.galera`` to them,
    each as ``{"minion", "pillar"}``: the pillar sets
    ``hastack:galera:bootstrap`` true on the member to bootstrap and false on
    every other one (no step when not ``ok``). The decision:

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

        salt-call hastack_galera_plan.deploy_plan '{"db1": true}' '{"db1": false}' '["db1"]'
    """
    members = list(dict.fromkeys(members or []))
    return _deploy_steps(_deploy_decision(has_state, running, members), members)


def _deploy_decision(has_state, running, members):
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

        salt-call hastack_galera_plan.choose "$positions_json" '["db1", "db2", "db3"]' \
            allow_partial=True
    """
    if isinstance(members, str):
        members = [m.strip() for m in members.split(",") if m.strip()]
    return choose_bootstrap(
        _normalize_positions(positions), members, allow_partial=allow_partial, force=force
    )


def _to_bool(value):
    """A pillar flag as a bool: true/yes/on/1 (any case) are True."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def _summary_line(member, entry):
    if not isinstance(entry, dict):
        return f"{member}: no answer"
    return (
        f"{member}: uuid {entry.get('uuid')} seqno {entry.get('seqno')} recovered "
        f"{entry.get('recovered_seqno')} safe_to_bootstrap {entry.get('safe_to_bootstrap')} "
        f"running {entry.get('running')}"
    )


def recover_plan(positions, members, allow_partial=False, force=None):
    """
    The whole decision of ``hastack.galera.recover``: ``choose`` plus the
    sentences the orchestration shows, so the sls only renders this return.

    ``positions`` is the raw ``saltutil.cmd`` return of
    ``hastack_galera.position`` on ``members`` (see ``choose``).
    ``allow_partial`` accepts pillar spellings (``true``, ``"True"``, ``1``);
    an empty ``force`` means none.

    Returns ``choose``'s ``{"ok", "bootstrap", "reason", "order"}`` and:

    summary
        One line per member: its position, or ``no answer``.
    comment
        On refusal, why nothing was changed; otherwise which member
        bootstraps, why, and the order the others rejoin in. Both end with
        the positions.

    CLI Example:

    .. code-block:: bash

        salt-call hastack_galera_plan.recover_plan "$positions_json" '["db1", "db2", "db3"]'
    """
    if isinstance(members, str):
        members = [m.strip() for m in members.split(",") if m.strip()]
    members = list(dict.fromkeys(members or []))
    normalized = _normalize_positions(positions)
    decision = choose_bootstrap(
        normalized, members, allow_partial=_to_bool(allow_partial), force=force or None
    )
    summary = [_summary_line(m, normalized.get(m)) for m in members]
    positions_text = "Positions: " + "; ".join(summary)
    if decision["ok"]:
        comment = (
            f"Bootstrapping {decision['bootstrap']}: {decision['reason']} Then rejoining: "
            f"{', '.join(decision['order']) or 'none'}. {positions_text}"
        )
    else:
        comment = (
            f"Galera recovery refused, nothing was changed: {decision['reason']} {positions_text}"
        )
    return dict(decision, summary=summary, comment=comment)
