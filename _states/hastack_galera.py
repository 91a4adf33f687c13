"""
State of a Galera (MariaDB) member: running, and Synced in a Primary component.

``hastack_galera.running`` never lets a plain start turn a node into a second
cluster. It starts MariaDB normally (so the node joins by IST or SST) only
when another member answers on the Galera port; it bootstraps a new Primary
component only when told so (``bootstrap: True``, which the orchestrations
set on exactly one node) and no other member answers; otherwise it fails and
says which orchestration to run. After a start it polls until the node is
Synced, with a deadline.

A running node is left alone (no restart, no change), so applying the state on
a healthy cluster changes nothing.
"""

import hashlib
import socket
import time

__virtualname__ = "hastack_galera"


def __virtual__():
    if "hastack_galera.status" in __salt__:
        return __virtualname__
    return (False, "hastack_galera state: execution module hastack_galera is not available")


def _reachable(peers, port, timeout=1.0):
    """The peers (addresses) that accept a TCP connection on ``port``."""
    found = []
    for peer in peers or []:
        try:
            with socket.create_connection((peer, int(port)), timeout=timeout):
                found.append(peer)
        except OSError:
            continue
    return found


def _standalone(status):
    """True when a running server has no Galera provider loaded (wsrep off)."""
    return not status.get("wsrep_cluster_state_uuid") and status.get("wsrep_cluster_status") in (
        None,
        "",
        "Disconnected",
    ) and not status.get("wsrep_provider_name")


def _enable(name, ret, enable):
    if not enable or __salt__["service.enabled"](name):
        return
    if __opts__["test"]:
        ret["changes"]["enabled"] = name
        return
    if __salt__["service.enable"](name):
        ret["changes"]["enabled"] = name
    else:
        ret["result"] = False
        ret["comment"] += f" Could not enable {name}."


DEFAULT_SOCKET = "/run/mysqld/mysqld.sock"


def running(name, peers=None, port=4567, bootstrap=False, timeout=300, enable=True,
            datadir="/var/lib/mysql", socket=DEFAULT_SOCKET):
    """
    Make sure this Galera member runs and is Synced in a Primary component.

    name
        The MariaDB service (init script) name, e.g. ``mariadb``.

    peers
        Addresses of the other data members.

    port
        Galera replication port of the peers (4567).

    bootstrap
        Allow forming a new Primary component from this node when no peer
        answers. The orchestrations set it on one node only.

    timeout
        Seconds to wait for the node to reach Synced after starting it.

    enable
        Also enable the service at boot.

    datadir
        MariaDB's data directory (where ``grastate.dat`` lives).

    socket
        The server's unix socket (pillar ``hastack:galera:socket``): the
        state reads the wsrep status through it.

    .. code-block:: yaml

        mariadb:
          hastack_galera.running:
            - peers: [10.0.0.12, 10.0.0.13]
    """
    ret = {"name": name, "result": True, "comment": "", "changes": {}}
    galera = __salt__

    if galera["hastack_galera.is_running"]():
        try:
            status = galera["hastack_galera.status"](socket=socket)
        except Exception as exc:  # pylint: disable=broad-except
            status = {}
            error = str(exc)
        else:
            error = None
        if status and _standalone(status):
            # E.g. a fresh package install started MariaDB without Galera.
            if __opts__["test"]:
                ret["result"] = None
                ret["comment"] = f"{name} runs without Galera and would be restarted into the cluster."
                return ret
            if not __salt__["service.stop"](name):
                ret["result"] = False
                ret["comment"] = f"{name} runs without Galera and could not be stopped."
                return ret
            ret["changes"]["stopped"] = "standalone server (no Galera)"
        elif status.get("wsrep_cluster_status") == "Primary":
            ret["comment"] = (
                f"{name} is running in the Primary component "
                f"(wsrep_local_state_comment {status.get('wsrep_local_state_comment', '?')}, "
                f"cluster size {status.get('wsrep_cluster_size', '?')})."
            )
            _enable(name, ret, enable)
            return ret
        else:
            # Joining, or cut off from the Primary component: wait, do not restart.
            if __opts__["test"]:
                ret["result"] = None
                ret["comment"] = f"{name} is running but not Synced in a Primary component."
                return ret
            synced = galera["hastack_galera.wait_synced"](timeout=timeout, socket=socket)
            ret["result"] = synced["result"]
            ret["comment"] = (
                f"{name} is running but was not in the Primary component "
                f"({error or status.get('wsrep_cluster_status')}); {synced['comment']}"
            )
            if ret["result"]:
                _enable(name, ret, enable)
            return ret

    reachable = _reachable(peers, port)
    if reachable:
        action = f"start {name} and join the cluster through {', '.join(reachable)}"
    elif bootstrap:
        action = f"bootstrap a new Primary component from this node ({name} --wsrep-new-cluster)"
    else:
        ret["result"] = False
        ret["comment"] = (
            f"{name} is stopped and no other member ({', '.join(peers or []) or 'none'}) answers "
            f"on port {port}: starting it could not join a cluster, and bootstrapping here "
            "could lose transactions. For a new cluster run `salt-run state.orch hastack.deploy`; "
            "after a full outage run `salt-run state.orch hastack.galera.recover`."
        )
        return ret

    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"Would {action}."
        ret["changes"]["started"] = action
        return ret

    started = time.monotonic()
    if reachable:
        if not __salt__["service.start"](name):
            ret["result"] = False
            ret["comment"] = f"Could not {action}; see the MariaDB error log."
            return ret
        ret["changes"]["started"] = f"joined through {', '.join(reachable)}"
    else:
        # bootstrap is only set by the orchestrations: on a brand-new cluster
        # (no member holds state) or on the node recovery chose.
        result = galera["hastack_galera.bootstrap"](datadir=datadir, new_cluster=True,
                                                    socket=socket)
        if not result["result"]:
            ret["result"] = False
            ret["comment"] = f"Could not {action}: {result['comment']}"
            ret["changes"].update(result.get("changes") or {})
            return ret
        ret["changes"]["started"] = "bootstrapped a new Primary component"

    synced = galera["hastack_galera.wait_synced"](timeout=timeout, socket=socket)
    ret["result"] = synced["result"]
    ret["changes"]["seconds_to_synced"] = round(time.monotonic() - started, 1)
    ret["comment"] = f"Did {action}; {synced['comment']}"
    if ret["result"]:
        _enable(name, ret, enable)
    return ret


# --------------------------------------------------------------------------
# Databases, accounts and grants, through the mariadb client as root over the
# unix socket (hastack_galera_sql; no Python MySQL driver needed in Salt's
# Python). Every state takes the server's ``socket`` (pillar
# hastack:galera:socket). They replicate, so on every member but the first they
# find everything in place.
# --------------------------------------------------------------------------


def _q(value):
    return __salt__["hastack_galera_sql.sql_quote"](value)


def _ident(name):
    return "`" + str(name).replace("`", "``") + "`"


def _account(user, host):
    return f"{_q(user)}@{_q(host)}"


def _sql(ret, sql, socket):
    """Run sql through ``socket``; on error set ret failed and return None."""
    try:
        return __salt__["hastack_galera_sql.query"](sql, socket=socket)
    except Exception as exc:  # pylint: disable=broad-except
        ret["result"] = False
        ret["comment"] = str(exc)
        return None


def database_present(name, character_set="utf8mb4", collate="utf8mb4_general_ci",
                     socket=DEFAULT_SOCKET):
    """
    A database exists (created with the given character set and collation).

    .. code-block:: yaml

        keystone:
          hastack_galera.database_present: []
    """
    ret = {"name": name, "result": True, "comment": "", "changes": {}}
    rows = _sql(ret, f"SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {_q(name)}", socket)
    if rows is None:
        return ret
    if rows:
        ret["comment"] = f"Database {name} exists."
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"Database {name} would be created."
        ret["changes"][name] = "present"
        return ret
    if _sql(ret, f"CREATE DATABASE IF NOT EXISTS {_ident(name)} CHARACTER SET {character_set} "
                 f"COLLATE {collate}", socket) is None:
        return ret
    ret["comment"] = f"Database {name} created."
    ret["changes"][name] = "present"
    return ret


def database_absent(name, socket=DEFAULT_SOCKET):
    """
    A database does not exist (e.g. ``test``).
    """
    ret = {"name": name, "result": True, "comment": "", "changes": {}}
    rows = _sql(ret, f"SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {_q(name)}", socket)
    if rows is None:
        return ret
    if not rows:
        ret["comment"] = f"Database {name} is absent."
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"Database {name} would be dropped."
        ret["changes"][name] = "absent"
        return ret
    if _sql(ret, f"DROP DATABASE IF EXISTS {_ident(name)}", socket) is None:
        return ret
    ret["comment"] = f"Database {name} dropped."
    ret["changes"][name] = "absent"
    return ret


def _native_password_hash(password):
    """
    MariaDB's ``mysql_native_password`` hash of ``password`` (what
    ``PASSWORD()`` returns): ``*`` and the upper-case hex SHA1 of its SHA1.
    """
    inner = hashlib.sha1(str(password).encode("utf-8")).digest()
    return "*" + hashlib.sha1(inner).hexdigest().upper()


def user_present(name, host, password=None, unix_socket=False, socket=DEFAULT_SOCKET):
    """
    An account ``name@host`` exists and logs in with ``password`` (checked
    by the server, never shown), or, with ``unix_socket``, only as the OS user
    of the same name through the unix socket.

    .. code-block:: yaml

        keystone:
          hastack_galera.user_present:
            - host: 10.0.0.0/255.255.255.0
            - password: secret
    """
    ret = {"name": name, "result": True, "comment": "", "changes": {}}
    account = _account(name, host)
    if unix_socket:
        check = (f"SELECT COUNT(*), SUM(plugin = 'unix_socket') FROM mysql.user "
                 f"WHERE User = {_q(name)} AND Host = {_q(host)}")
        auth = "IDENTIFIED VIA unix_socket"
    else:
        if not password:
            ret["result"] = False
            ret["comment"] = f"No password given for {name}@{host}."
            return ret
        # Only the hash goes to the server: a clear-text password in CREATE or
        # ALTER USER would be replicated and kept in every member's gcache.
        digest = _native_password_hash(password)
        check = (f"SELECT COUNT(*), SUM(authentication_string = {_q(digest)}) "
                 f"FROM mysql.user WHERE User = {_q(name)} AND Host = {_q(host)}")
        auth = f"IDENTIFIED BY PASSWORD {_q(digest)}"
    rows = _sql(ret, check, socket)
    if rows is None:
        return ret
    exists = rows and rows[0][0] not in ("0", "")
    correct = exists and rows[0][1] not in ("0", "NULL", "")
    if correct:
        ret["comment"] = f"User {name}@{host} is present and up to date."
        return ret
    what = "authentication updated" if exists else "present"
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"User {name}@{host} would be {'updated' if exists else 'created'}."
        ret["changes"][f"{name}@{host}"] = what
        return ret
    verb = "ALTER" if exists else "CREATE"
    if _sql(ret, f"{verb} USER {account} {auth}", socket) is None:
        return ret
    ret["comment"] = f"User {name}@{host} {'updated' if exists else 'created'}."
    ret["changes"][f"{name}@{host}"] = what
    return ret


def grants_present(name, user, host, privileges, database="*.*", socket=DEFAULT_SOCKET):
    """
    ``user@host`` holds ``privileges`` (a list, e.g. ``[ALL PRIVILEGES]``)
    on ``database`` (``keystone.*``, ``*.*``). Only adds what is missing.
    """
    ret = {"name": name, "result": True, "comment": "", "changes": {}}
    if isinstance(privileges, str):
        privileges = [p.strip() for p in privileges.split(",") if p.strip()]
    rows = _sql(ret, f"SHOW GRANTS FOR {_account(user, host)}", socket)
    if rows is None:
        return ret
    missing = __salt__["hastack_galera_sql.grants_missing"]([r[0] for r in rows], database, privileges)
    if not missing:
        ret["comment"] = f"{user}@{host} holds {', '.join(privileges)} on {database}."
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"Would grant {', '.join(missing)} on {database} to {user}@{host}."
        ret["changes"]["granted"] = missing
        return ret
    schema, _, table = database.partition(".")
    target = "*.*" if database == "*.*" else f"{_ident(schema)}.{table if table == '*' else _ident(table)}"
    if _sql(ret, f"GRANT {', '.join(missing)} ON {target} TO {_account(user, host)}", socket) is None:
        return ret
    ret["comment"] = f"Granted {', '.join(missing)} on {database} to {user}@{host}."
    ret["changes"]["granted"] = missing
    return ret


def accounts_absent(name, keep_root=("localhost",), socket=DEFAULT_SOCKET):
    """
    No anonymous account (empty user name) exists, and ``root`` only at the
    hosts of ``keep_root`` (Debian's ``root@localhost``, which logs in through
    the unix socket only).

    name
        A label for the state (it names no account).

    keep_root
        Hosts at which a ``root`` account may stay.

    .. code-block:: yaml

        hastack-galera-users-anonymous-absent:
          hastack_galera.accounts_absent:
            - name: anonymous and remote root
    """
    ret = {"name": name, "result": True, "comment": "", "changes": {}}
    keep = ", ".join(_q(host) for host in keep_root) or "''"
    rows = _sql(ret, "SELECT User, Host FROM mysql.user WHERE User = '' OR "
                     f"(User = 'root' AND Host NOT IN ({keep}))", socket)
    if rows is None:
        return ret
    accounts = [(row[0], row[1]) for row in rows if len(row) >= 2]
    if not accounts:
        ret["comment"] = "No anonymous account and no root account beyond " + ", ".join(keep_root) + "."
        return ret
    names = [f"{user or '<anonymous>'}@{host}" for user, host in accounts]
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"Would drop {', '.join(names)}."
        ret["changes"]["dropped"] = names
        return ret
    statement = "; ".join(f"DROP USER {_account(user, host)}" for user, host in accounts)
    if _sql(ret, statement, socket) is None:
        return ret
    ret["comment"] = f"Dropped {', '.join(names)}."
    ret["changes"]["dropped"] = names
    return ret


# --------------------------------------------------------------------------
# Provider options a running member takes without a restart.
# --------------------------------------------------------------------------

# What Galera lets SET GLOBAL wsrep_provider_options change at runtime (its
# evs/gcs set_param); anything else needs `hastack.galera.restart`.
RUNTIME_OPTIONS = frozenset({
    "evs.keepalive_period", "evs.suspect_timeout", "evs.inactive_timeout", "evs.install_timeout",
    "evs.join_retrans_period", "evs.causal_keepalive_period", "evs.send_window", "evs.user_send_window",
    "evs.max_install_timeouts", "evs.stats_report_period", "gcs.fc_limit", "gcs.fc_factor",
})


def _parse_provider_options(text):
    """``key = value; key = value`` (SHOW VARIABLES wsrep_provider_options) as a dict."""
    found = {}
    for item in str(text).split(";"):
        key, sep, value = item.partition("=")
        if sep:
            found[key.strip()] = value.strip()
    return found


def _same_option(current, wanted):
    """Equal values; periods compared by duration (Galera may print PT0.20S for PT0.2S)."""
    def seconds(value):
        text = str(value).strip().upper()
        if text.startswith("PT") and text.endswith("S"):
            try:
                return float(text[2:-1])
            except ValueError:
                return None
        return None

    a, b = seconds(current), seconds(wanted)
    if a is not None and b is not None:
        return abs(a - b) < 1e-6
    return str(current).strip().lower() == str(wanted).strip().lower()


def runtime_options_present(name, options, socket=DEFAULT_SOCKET):
    """
    The running member uses ``options`` (wsrep provider options) wherever
    Galera can change them at runtime, set with ``SET GLOBAL
    wsrep_provider_options``: a changed timeout reaches every member at once,
    without a restart. That matters for failure detection: a member restarted
    with short timeouts while its peers still send keepalives at the old
    interval would suspect them and never join. Options Galera only reads at
    start are left to ``hastack.galera.restart`` (said in the comment).

    Galera checks each value against the others as it is set (for example
    ``evs.install_timeout`` <= ``evs.inactive_timeout``), so the options are
    set one at a time, retrying those refused until no more progress is made.

    .. code-block:: yaml

        hastack-galera-service-runtime-options-present:
          hastack_galera.runtime_options_present:
            - name: wsrep_provider_options
            - options: {evs.suspect_timeout: PT0.8S}
    """
    ret = {"name": name, "result": True, "comment": "", "changes": {}}
    rows = _sql(ret, "SHOW GLOBAL VARIABLES LIKE 'wsrep_provider_options'", socket)
    if rows is None:
        return ret
    current = _parse_provider_options(rows[0][1] if rows and len(rows[0]) > 1 else "")
    later = sorted(key for key in options if key not in RUNTIME_OPTIONS
                   and key in current and not _same_option(current[key], options[key]))
    pending = {key: str(value) for key, value in options.items()
               if key in RUNTIME_OPTIONS and not _same_option(current.get(key, ""), value)}
    notes = [f"Needs a restart (hastack.galera.restart): {_join_keys(later)}."] if later else []
    if not pending:
        ret["comment"] = " ".join(["Runtime provider options in effect."] + notes)
        return ret
    changes = {key: {"old": current.get(key), "new": value} for key, value in pending.items()}
    if __opts__["test"]:
        ret["result"] = None
        ret["changes"] = changes
        ret["comment"] = " ".join([f"Would set {_join_keys(pending)} at runtime."] + notes)
        return ret
    errors = {}
    while pending:
        progress = False
        for key in list(pending):
            probe = {"result": True, "comment": ""}
            if _sql(probe, f"SET GLOBAL wsrep_provider_options = {_q(f'{key}={pending[key]}')}", socket) is None:
                errors[key] = probe["comment"]
                continue
            del pending[key]
            errors.pop(key, None)
            progress = True
        if not progress:
            break
    ret["changes"] = {key: change for key, change in changes.items() if key not in pending}
    if pending:
        ret["result"] = False
        refused = (f"{key}={pending[key]}: {errors[key]}" for key in sorted(pending))
        ret["comment"] = "Galera refused " + "; ".join(refused)
        return ret
    ret["comment"] = " ".join([f"Set {_join_keys(changes)} at runtime."] + notes)
    return ret


def _join_keys(keys):
    return ", ".join(sorted(keys))
