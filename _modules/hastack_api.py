"""
The OpenStack services after keystone on this host (placement, nova,
nova-compute, horizon): are they healthy, and is a database schema at the
revision the installed package ships.

The health functions ask this host's services on its stack IP (not the VIP),
as HAProxy's checks do, so the answer is about this host; they are the tiers'
``health:function`` (``hastack.wait_healthy`` calls them without arguments).
"""

import logging
import pathlib
import re
import urllib.error
import urllib.request

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack_api"


def __virtual__():
    return __virtualname__


# --------------------------------------------------------------------------
# Pure logic.
# --------------------------------------------------------------------------

_REVISION = re.compile(r"^(?P<key>revision|down_revision)\s*(?::[^=]*)?=\s*(?P<value>.+?)\s*$", re.M)
_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


def alembic_heads(scripts):
    """
    The head revisions of an alembic history, from the texts of its version
    scripts (``revision = '...'``, ``down_revision = '...'`` or a tuple of
    them for a merge): every revision no other one names as its parent.
    """
    revisions, parents = set(), set()
    for text in scripts:
        for match in _REVISION.finditer(text):
            values = set(_QUOTED.findall(match.group("value")))
            (revisions if match.group("key") == "revision" else parents).update(values)
    return sorted(revisions - parents)


def current_revision(output):
    """
    The revision ``placement-manage db version`` or ``nova-manage db
    version`` printed: its last non-empty line; '' for none (``None``, an
    empty database).
    """
    lines = [line.strip() for line in str(output or "").splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    return "" if last in ("None", "none") else last


def http_status_ok(status):
    """
    True for an answer HAProxy's checks would take from an API's version
    document: 2xx or 3xx (an API may answer its root with 300 Multiple
    Choices); 4xx, 5xx and no answer (0) are not.
    """
    return 200 <= status < 400


# --------------------------------------------------------------------------
# Salt-facing functions.
# --------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer: give back the 3xx itself."""

    def redirect_request(self, *args, **kwargs):
        return None


def _status(url, timeout):
    """The HTTP status ``url`` answers with (3xx not followed), or 0 when it does not answer."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
    try:
        with opener.open(url, timeout=float(timeout)) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.debug("hastack_api: %s: %s", url, exc)
        return 0


def _mapdata():
    try:
        cached = __context__.get("hastack_api.mapdata")
    except NameError:
        cached = None
    if cached is None:
        cached = __salt__["hastack.mapdata"]()
        try:
            __context__["hastack_api.mapdata"] = cached
        except NameError:
            pass
    return cached


def _running(signature):
    return bool(__salt__["hastack.process_running"](signature))


def placement_healthy(timeout=2):
    """
    True when this host's placement API answers ``GET /`` with a 2xx or 3xx
    (the check HAProxy makes). The placement tier's health function.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_api.placement_healthy
    """
    socket = (_mapdata().get("placement") or {}).get("http_socket", "")
    return http_status_ok(_status(f"http://{socket}/", timeout))


def nova_healthy(timeout=2):
    """
    True when this host's compute API and metadata API answer ``GET /`` with
    a 2xx or 3xx (HAProxy's checks) and its nova-conductor and nova-scheduler run.
    The nova tier's health function.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_api.nova_healthy
    """
    mapdata = _mapdata()
    nova = mapdata.get("nova") or {}
    sockets = nova.get("http_sockets") or {}
    for name, socket in sorted(sockets.items()):
        status = _status(f"http://{socket}/", timeout)
        if not http_status_ok(status):
            log.debug("hastack_api.nova_healthy: %s answers %s", name, status)
            return False
    processes = ((mapdata.get("tiers") or {}).get("nova") or {}).get("processes") or {}
    for daemon in nova.get("daemons") or []:
        if processes.get(daemon) and not _running(processes[daemon]):
            log.debug("hastack_api.nova_healthy: %s does not run", daemon)
            return False
    return bool(sockets)


def compute_healthy():
    """
    True when nova-compute runs on this host (found by its command line). The
    compute tier's health function: whether it reports to the conductor is
    the control plane's business (``openstack compute service list``).

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_api.compute_healthy
    """
    processes = (((_mapdata().get("tiers") or {}).get("compute") or {}).get("processes") or {})
    return bool(processes.get("nova-compute")) and _running(processes["nova-compute"])


def horizon_healthy(timeout=5):
    """
    True when this host's dashboard answers ``GET /`` with a 2xx or 3xx (the
    login redirect; HAProxy's check). The horizon tier's health function.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_api.horizon_healthy
    """
    listen = (_mapdata().get("horizon") or {}).get("listen", "")
    return http_status_ok(_status(f"http://{listen}/", timeout))


def schema_synced(command, migrations, runas):
    """
    True when the database ``command`` (e.g. ``placement-manage db version``)
    reports is at the head of the alembic history in ``migrations`` (the
    package's version scripts); False otherwise (an empty database, an older
    revision, an error). The bootstrap states sync a schema only unless this
    answers True, so a second deploy runs nothing. The command reads its
    database URL from the service's own configuration file: nothing secret
    on its command line.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_api.schema_synced 'placement-manage db version' \\
            /usr/lib/python3/dist-packages/placement/db/sqlalchemy/alembic/versions placement
    """
    directory = pathlib.Path(str(migrations))
    if not directory.is_dir():
        raise CommandExecutionError(f"no migrations in {directory}")
    heads = alembic_heads(path.read_text(errors="replace") for path in sorted(directory.glob("*.py")))
    result = __salt__["cmd.run_all"](str(command), runas=runas, python_shell=False, ignore_retcode=True,
                                     output_loglevel="quiet")
    if result.get("retcode") != 0:
        log.debug("hastack_api.schema_synced: %s failed (%s)", command, result.get("retcode"))
        return False
    current = current_revision(result.get("stdout"))
    return bool(current) and heads == [current]


def nova_schema_synced(database):
    """
    ``schema_synced`` for one of nova's databases: ``api`` (nova_api,
    ``nova-manage api_db version``) or ``main`` (nova, ``nova-manage db
    version``), against the scripts named by ``nova:migrations``.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_api.nova_schema_synced api
    """
    nova = _mapdata().get("nova") or {}
    command = {"api": "nova-manage api_db version", "main": "nova-manage db version"}.get(database)
    if not command:
        raise CommandExecutionError(f"unknown nova database {database!r} (api or main)")
    return schema_synced(command, (nova.get("migrations") or {}).get(database, ""), nova.get("user", "nova"))


def placement_schema_synced():
    """
    ``schema_synced`` for placement's database (``placement-manage db
    version`` against ``placement:migrations``).

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_api.placement_schema_synced
    """
    placement = _mapdata().get("placement") or {}
    return schema_synced("placement-manage db version", placement.get("migrations", ""),
                         placement.get("user", "placement"))


def cell_present(name):
    """
    True when nova's API database maps a cell named ``name`` (``cell0``,
    ``cell1``): ``nova-manage cell_v2 list_cells`` (without --verbose, so the
    URLs it prints are masked, and its output is not logged anyway).

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_api.cell_present cell1
    """
    nova = _mapdata().get("nova") or {}
    result = __salt__["cmd.run_all"](["nova-manage", "cell_v2", "list_cells"], runas=nova.get("user", "nova"),
                                     python_shell=False, ignore_retcode=True, output_loglevel="quiet")
    if result.get("retcode") != 0:
        return False
    return cell_listed(result.get("stdout"), name)


def cell_listed(table, name):
    """True when the table ``nova-manage cell_v2 list_cells`` printed has a row named ``name``."""
    for line in str(table or "").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0] == name:
            return True
    return False
