"""
Galera (MariaDB 10.11 / galera-4) on this node: its state and its start.

- ``position``: the node's last committed position after an outage
  (grastate.dat, gvwstate.dat, ``mariadbd --wsrep-recover``), one entry for
  ``hastack_galera_plan.choose``;
- ``status``, ``is_synced``, ``wait_synced``, ``is_running``: the live wsrep
  state;
- ``bootstrap``: start a new Primary component from this node.

The decisions (which node to bootstrap, how a deployment starts) are pure
functions in ``hastack_galera_plan``; the SQL helpers the account states use
are in ``hastack_galera_sql``. This module needs MariaDB installed.
"""

import logging
import os
import time

import salt.utils.path
import salt.utils.systemd
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack_galera"

DEFAULT_DATADIR = "/var/lib/mysql"
DEFAULT_SOCKET = "/run/mysqld/mysqld.sock"
INIT_SCRIPT = "/etc/init.d/mariadb"


def __virtual__():
    if salt.utils.path.which("mariadb") or salt.utils.path.which("mysql"):
        return __virtualname__
    return (False, "hastack_galera: mariadb/mysql client binaries not found")


def _plan(name):
    """A pure function of hastack_galera_plan (parsers, decisions)."""
    return __salt__[f"hastack_galera_plan.{name}"]


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


def _processes():
    """
    ``(servers, recoveries)``: pids of the mariadbd (or legacy mysqld)
    processes, split into servers and ``--wsrep-recover`` runs. A recovery
    started by an earlier call may outlive that call's job; it is not a
    running server.
    """
    res = __salt__["cmd.run_all"](
        ["pgrep", "-a", "-x", "mariadbd|mysqld"], python_shell=False, ignore_retcode=True
    )
    servers, recoveries = [], []
    if res.get("retcode") != 0:
        return servers, recoveries
    for line in (res.get("stdout") or "").splitlines():
        if line.strip():
            (recoveries if "--wsrep-recover" in line else servers).append(line.split()[0])
    return servers, recoveries


def _running():
    """True when a mariadbd (or legacy mysqld) server process exists."""
    return bool(_processes()[0])


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
    recovered = _plan("parse_wsrep_recover")(output)
    if recovered is None:
        tail = "\n".join(output.splitlines()[-20:])
        return None, f"--wsrep-recover found no position (rc {res.get('retcode')}): {tail}"
    return recovered, None


def position(datadir=DEFAULT_DATADIR, timeout=900, socket=DEFAULT_SOCKET):
    """
    Report this node's Galera position, as one entry for
    ``hastack_galera_plan.choose``.

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
        state = _plan("parse_grastate")(grastate)
        pos.update(uuid=state["uuid"], seqno=state["seqno"],
                   safe_to_bootstrap=state["safe_to_bootstrap"])
    pos["gvwstate"] = _plan("parse_gvwstate")(_read(os.path.join(datadir, "gvwstate.dat")))

    # A recovery still running (from an earlier call whose job timed out) holds
    # InnoDB's lock: wait for it rather than start a second one or call it a server.
    deadline = time.monotonic() + timeout
    servers, recoveries = _processes()
    while recoveries and not servers and time.monotonic() < deadline:
        time.sleep(1)
        servers, recoveries = _processes()
    if recoveries and not servers:
        pos["errors"].append(f"mariadbd --wsrep-recover (pid {', '.join(recoveries)}) still runs after "
                             f"{timeout}s; no position read")
        return pos
    pos["running"] = bool(servers)
    if pos["running"]:
        # A running node's grastate says -1; its live state is what matters.
        try:
            pos["cluster_status"] = status(socket=socket).get("wsrep_cluster_status")
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


def status(socket=DEFAULT_SOCKET):
    """
    Return the ``wsrep_%`` global status variables as ``{name: value}``
    (strings). Connects as root through the unix ``socket`` (pillar
    ``hastack:galera:socket``). Raises an error when the server cannot be
    queried.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.status
        salt '*' hastack_galera.status socket=/run/mysqld/mysqld.sock
    """
    res = __salt__["cmd.run_all"](
        [_client(), "--protocol=socket", f"--socket={socket}", "--user=root", "-N", "-B",
         "-e", "SHOW GLOBAL STATUS LIKE 'wsrep_%'"],
        python_shell=False,
        ignore_retcode=True,
    )
    if res.get("retcode") != 0:
        raise CommandExecutionError(
            f"cannot read wsrep status: {(res.get('stderr') or res.get('stdout') or '').strip()}"
        )
    return _plan("parse_status")(res.get("stdout"))


def is_running():
    """
    True when a mariadbd (or mysqld) process runs on this host.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.is_running
    """
    return _running()


def wait_synced(timeout=300, interval=0.5, socket=DEFAULT_SOCKET):
    """
    Poll until this node is Synced in a Primary component, at most ``timeout``
    seconds, reading the status through the unix ``socket``. Returns
    ``{"result", "comment", "seconds"}``; the comment gives the last state
    seen when the deadline passed or mariadbd exited.

    CLI Example:

    .. code-block:: bash

        salt ctl2 hastack_galera.wait_synced timeout=600
    """
    started = time.monotonic()
    deadline = started + float(timeout)
    last = "no status yet"
    while True:
        try:
            current = status(socket=socket)
        except CommandExecutionError as exc:
            current = None
            last = str(exc)
        if current is not None:
            if _plan("synced_from_status")(current):
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


def is_synced(socket=DEFAULT_SOCKET):
    """
    True when this node is Synced (``wsrep_local_state`` 4), ready and in the
    Primary component; False otherwise, also when the server is down.
    Reads the status through the unix ``socket``.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera.is_synced
    """
    try:
        return _plan("synced_from_status")(status(socket=socket))
    except CommandExecutionError as exc:
        log.debug("hastack_galera.is_synced: %s", exc)
        return False


def bootstrap(datadir=DEFAULT_DATADIR, new_cluster=False, socket=DEFAULT_SOCKET):
    """
    Bootstrap a new Primary component from this node: mark it
    ``safe_to_bootstrap: 1`` in grastate.dat and start MariaDB with
    ``--wsrep-new-cluster``. Does nothing when mariadbd is already running.
    Run it on the node ``hastack_galera_plan.choose`` picked, and only there.

    Without systemd this runs ``/etc/init.d/mariadb bootstrap``. With systemd
    it runs ``galera_new_cluster``, because the init script's inner
    ``start --wsrep-new-cluster`` would be redirected to ``systemctl start``,
    which drops the option.

    new_cluster
        The very first start of a brand-new cluster: a missing grastate.dat
        is expected then (the node never ran Galera), so the node is started
        with ``--wsrep-new-cluster`` without one. Without it a missing
        grastate.dat refuses, because recovery needs a recorded state.

    socket
        The server's unix socket, to tell whether an already running server
        is synced.

    Returns ``{"result", "comment", "changes"}``.

    CLI Example:

    .. code-block:: bash

        salt db1 hastack_galera.bootstrap
        salt db1 hastack_galera.bootstrap new_cluster=True
    """
    if _running():
        synced = is_synced(socket=socket)
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
