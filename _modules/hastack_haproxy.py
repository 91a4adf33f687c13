"""
HAProxy runtime control for hastack, over the admin socket.

Drain a server before its host is changed, bring it back once its health
check passes: rolling changes without cutting clients off. Talks to the
socket directly (no socat needed); parsing is done by plain functions.
"""

import csv
import io
import json
import logging
import os
import socket
import time

import salt.utils.path
from salt.exceptions import CommandExecutionError

__virtualname__ = "hastack_haproxy"

# drain_host remembers where a server was UP, so wait_up after ready_host
# waits for those backends only (a backend whose service is not deployed
# yet stays DOWN and must not block a rollout).
DRAIN_RECORD_DIR = "/run/hastack-haproxy"

log = logging.getLogger(__name__)


def __virtual__():
    if salt.utils.path.which("haproxy"):
        return __virtualname__
    return (False, "hastack_haproxy: haproxy binary not found")


# --------------------------------------------------------------------- pure


def parse_stat_csv(text):
    """
    Parse ``show stat`` CSV into server rows (frontend/backend summary rows dropped).

    Each row: ``{backend, server, status, weight, sessions, total, check}``;
    ``status`` is HAProxy's (UP, DOWN, DRAIN, MAINT, "UP 1/2"...).

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_haproxy.parse_stat_csv "$(echo 'show stat' | socat - /run/haproxy/admin.sock)"
    """
    text = text.lstrip("# ").strip()
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("svname") in ("FRONTEND", "BACKEND") or not row.get("pxname"):
            continue
        rows.append({
            "backend": row["pxname"],
            "server": row["svname"],
            "status": row.get("status", ""),
            "weight": int(row.get("weight") or 0),
            "sessions": int(row.get("scur") or 0),
            "total": int(row.get("stot") or 0),
            "check": row.get("check_status", ""),
        })
    return rows


def is_up(row):
    """True for a server HAProxy sends new traffic to (UP, not draining)."""
    return row["status"].split(" ")[0] == "UP"


# --------------------------------------------------------------- salt-facing


def _socket_path(sock):
    """The admin socket: ``sock`` when given, else the formula's merged setting."""
    if sock:
        return sock
    if "hastack.mapdata" not in __salt__:
        raise CommandExecutionError("execution module hastack is not available: run saltutil.sync_modules")
    return __salt__["hastack.mapdata"]()["haproxy"]["admin_socket"]


def command(cmd, sock=None, timeout=5):
    """
    Send one command to the HAProxy admin socket and return its answer.

    CLI Example:

    .. code-block:: bash

        salt lb1 hastack_haproxy.command 'show info'
    """
    path = _socket_path(sock)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(path)
            conn.sendall(cmd.encode() + b"\n")
            chunks = []
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError as exc:
        raise CommandExecutionError(f"HAProxy admin socket {path}: {exc}") from exc
    return b"".join(chunks).decode()


def servers(backend=None, sock=None):
    """
    Server rows of every backend (or of one).

    CLI Example:

    .. code-block:: bash

        salt lb1 hastack_haproxy.servers
        salt lb1 hastack_haproxy.servers galera
    """
    sock = _socket_path(sock)
    rows = parse_stat_csv(command("show stat", sock))
    return [r for r in rows if backend is None or r["backend"] == backend]


def _set_state(backend, server, state, sock):
    answer = command(f"set server {backend}/{server} state {state}", sock).strip()
    if answer:
        raise CommandExecutionError(f"set server {backend}/{server} state {state}: {answer}")
    return {"backend": backend, "server": server, "state": state}


def drain(backend, server, sock=None):
    """
    Stop sending new connections to ``server`` in ``backend``; existing ones finish.

    CLI Example:

    .. code-block:: bash

        salt lb1 hastack_haproxy.drain galera ctl1
    """
    sock = _socket_path(sock)
    return _set_state(backend, server, "drain", sock)


def ready(backend, server, sock=None):
    """
    Put ``server`` back into rotation in ``backend`` (health checks decide UP/DOWN).

    CLI Example:

    .. code-block:: bash

        salt lb1 hastack_haproxy.ready galera ctl1
    """
    sock = _socket_path(sock)
    return _set_state(backend, server, "ready", sock)


def backends_of(server, sock=None):
    """
    Backends in which ``server`` appears.

    CLI Example:

    .. code-block:: bash

        salt lb1 hastack_haproxy.backends_of ctl1
    """
    sock = _socket_path(sock)
    return sorted({r["backend"] for r in servers(sock=sock) if r["server"] == server})


def listening(sock=None):
    """
    True when an HAProxy answers on the admin socket here (False: none runs,
    or a killed one left its socket file behind).

    CLI Example:

    .. code-block:: bash

        salt lb1 hastack_haproxy.listening
    """
    path = _socket_path(sock)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        try:
            conn.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            return False
    return True


# What a skip_stopped call returns where no HAProxy runs. The formula keeps no
# server-state file, so an HAProxy that starts later has every server ready.
NOT_RUNNING = "no HAProxy runs here: it starts with every server ready"


def _chosen(names, backends):
    """``names`` that are in ``backends`` (a list or a comma-separated string; None: all)."""
    if backends is None:
        return list(names)
    if isinstance(backends, str):
        backends = backends.split(",")
    wanted = {b.strip() for b in backends if b and b.strip()}
    return [name for name in names if name in wanted]


def drain_host(server, sock=None, skip_stopped=False, backends=None):
    """
    Drain ``server`` from every backend it is in (or only from ``backends``);
    returns the backends. With ``skip_stopped``, returns at once where no
    HAProxy runs (see ``ready_host``; its health checks take the server out
    after a start). A rolling API rollout passes its own backends, so a host
    that is also a Galera member keeps its database traffic.

    CLI Example:

    .. code-block:: bash

        salt -L lb1,lb2 hastack_haproxy.drain_host ctl1
        salt -L lb1,lb2 hastack_haproxy.drain_host ctl1 backends=keystone
    """
    sock = _socket_path(sock)
    if skip_stopped and not listening(sock):
        return NOT_RUNNING
    rows = [r for r in servers(sock=sock) if r["server"] == server and _chosen([r["backend"]], backends)]
    os.makedirs(DRAIN_RECORD_DIR, exist_ok=True)
    with open(os.path.join(DRAIN_RECORD_DIR, f"{server}.json"), "w", encoding="utf-8") as record:
        json.dump(sorted(r["backend"] for r in rows if is_up(r)), record)
    drained = sorted({r["backend"] for r in rows})
    for backend in drained:
        drain(backend, server, sock)
    return drained


def ready_host(server, sock=None, skip_stopped=False, backends=None):
    """
    Put ``server`` back into every backend it is in (or only into
    ``backends``); returns the backends.

    With ``skip_stopped``, a host where no HAProxy runs (a load balancer that
    is itself being healed) is not an error: nothing there to make ready.

    CLI Example:

    .. code-block:: bash

        salt -L lb1,lb2 hastack_haproxy.ready_host ctl1
        salt -L lb1,lb2 hastack_haproxy.ready_host ctl1 skip_stopped=True
    """
    sock = _socket_path(sock)
    if skip_stopped and not listening(sock):
        return NOT_RUNNING
    readied = _chosen(backends_of(server, sock), backends)
    for backend in readied:
        ready(backend, server, sock)
    return readied


def _poll(pending, timeout, failure):
    """Call pending() until it returns (False, _); raise with its detail after timeout."""
    start = time.monotonic()
    while True:
        still, detail = pending()
        if not still:
            return round(time.monotonic() - start, 2)
        if time.monotonic() - start > timeout:
            raise CommandExecutionError(f"{failure}: {detail}")
        time.sleep(0.2)


def wait_drained(server, backend=None, timeout=60, sock=None, backends=None, close_after=None):
    """
    Wait until ``server`` has no session left (in one backend, in
    ``backends``, or in all); returns seconds waited.

    With ``close_after`` (seconds), sessions still open by then are closed
    (HAProxy's ``shutdown sessions server``): a pooled database connection
    of a busy client never ends by itself, and the client reconnects to
    another server. A request in flight at that moment fails and is never
    acknowledged. Without it, sessions left after ``timeout`` are an error.

    CLI Example:

    .. code-block:: bash

        salt lb1 hastack_haproxy.wait_drained ctl1 timeout=120
        salt lb1 hastack_haproxy.wait_drained ctl1 backends=keystone,nova_api
        salt lb1 hastack_haproxy.wait_drained ctl1 backend=galera close_after=15
    """
    sock = _socket_path(sock)
    def busy_rows():
        return [r for r in servers(backend, sock)
                if r["server"] == server and r["sessions"] and _chosen([r["backend"]], backends)]

    def pending():
        busy = busy_rows()
        return busy, ", ".join(f"{r['backend']}={r['sessions']}" for r in busy)

    failure = f"{server} still has sessions after {timeout}s"
    if close_after is None:
        return _poll(pending, timeout, failure)
    start = time.monotonic()
    grace = min(float(close_after), float(timeout))
    try:
        return _poll(pending, grace, failure)
    except CommandExecutionError:
        for row in busy_rows():
            log.info("hastack_haproxy: closing %s sessions of %s/%s after %ss",
                     row["sessions"], row["backend"], server, grace)
            command(f"shutdown sessions server {row['backend']}/{server}", sock)
    _poll(pending, max(float(timeout) - grace, 5.0), failure)
    return round(time.monotonic() - start, 2)


def wait_up(server, backend=None, timeout=60, sock=None, skip_stopped=False, backends=None):
    """
    Wait until ``server`` passes its health checks (UP) in one backend, or in
    every backend where it was UP when ``drain_host`` took it out; when there
    is no such record, in ``backends`` (a list or a comma-separated string),
    or in all its backends. With ``skip_stopped``, returns at once where no
    HAProxy runs (see ``ready_host``).

    CLI Example:

    .. code-block:: bash

        salt lb1 hastack_haproxy.wait_up ctl1 backend=galera
        salt lb1 hastack_haproxy.wait_up ctl1 backends=keystone
    """
    sock = _socket_path(sock)
    if skip_stopped and not listening(sock):
        return NOT_RUNNING
    record = os.path.join(DRAIN_RECORD_DIR, f"{server}.json")
    wanted = None
    recorded = backend is None and os.path.exists(record)
    if recorded:
        with open(record, encoding="utf-8") as handle:
            wanted = set(json.load(handle))
    elif backend is None and backends is not None:
        # A tier deployed on hosts nobody drained: only its own backends count
        # (the next tiers' backends of the host are still DOWN).
        wanted = set(_chosen(backends_of(server, sock), backends))
    def pending():
        rows = [r for r in servers(backend, sock) if r["server"] == server
                and (wanted is None or r["backend"] in wanted)]
        done = (rows or wanted == set()) and all(is_up(r) for r in rows)
        return not done, ", ".join(f"{r['backend']}={r['status']}" for r in rows)

    waited = _poll(pending, timeout, f"{server} not UP after {timeout}s")
    if recorded:
        os.remove(record)
    return waited


def take_out(server, backends=None, timeout=60, sock=None, skip_stopped=False):
    """
    ``drain_host`` then ``wait_drained`` in one call (one round trip for an
    orchestration step): ``server`` gets no new request of ``backends`` (all
    its backends when None) and its sessions there have finished. Returns
    ``{backends, waited}``, or ``NOT_RUNNING`` with ``skip_stopped`` where
    no HAProxy runs.

    CLI Example:

    .. code-block:: bash

        salt -L lb1,lb2 hastack_haproxy.take_out ctl1 backends=keystone timeout=120
    """
    drained = drain_host(server, sock=sock, skip_stopped=skip_stopped, backends=backends)
    if drained == NOT_RUNNING:
        return NOT_RUNNING
    waited = wait_drained(server, timeout=timeout, sock=sock, backends=drained)
    return {"backends": drained, "waited": waited}


def put_back(server, backends=None, timeout=60, sock=None, skip_stopped=False):
    """
    ``ready_host`` then ``wait_up`` in one call: ``server`` is ready again in
    ``backends`` (all its backends when None) and passes its health checks
    where it passed them when it was taken out (in ``backends`` when it was
    not taken out: a first deploy). Returns ``{backends,
    waited}``, or ``NOT_RUNNING`` with ``skip_stopped`` where no HAProxy runs.

    CLI Example:

    .. code-block:: bash

        salt -L lb1,lb2 hastack_haproxy.put_back ctl1 backends=keystone timeout=120
    """
    readied = ready_host(server, sock=sock, skip_stopped=skip_stopped, backends=backends)
    if readied == NOT_RUNNING:
        return NOT_RUNNING
    waited = wait_up(server, timeout=timeout, sock=sock, backends=backends)
    return {"backends": readied, "waited": waited}
