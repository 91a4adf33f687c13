"""
Keystone on this api host: is it healthy, and is the identity service
bootstrapped (the admin can log in and the catalog lists keystone's own
endpoints at the VIP).

Both ask this host's keystone on its stack IP (not the VIP), so the answer
is about this host. The admin password is read from pillar here, on the
minion, and sent only in the body of the request: never on a command line,
in a log line or in a return value.
"""

import json
import logging
import os
import urllib.error
import urllib.request

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack_keystone"

INTERFACES = ("public", "internal", "admin")


def __virtual__():
    return __virtualname__


# --------------------------------------------------------------------------
# Pure logic.
# --------------------------------------------------------------------------


def identity_endpoints_missing(catalog, url, region):
    """
    The interfaces (public, internal, admin) for which ``catalog`` (the
    ``catalog`` list of a token) lacks an ``identity`` endpoint at ``url``
    in ``region``; [] when all three are there.
    """
    found = set()
    for service in catalog if isinstance(catalog, list) else []:
        if not isinstance(service, dict) or service.get("type") != "identity":
            continue
        for endpoint in service.get("endpoints") or []:
            if (isinstance(endpoint, dict) and endpoint.get("url", "").rstrip("/") == url.rstrip("/")
                    and endpoint.get("region_id", endpoint.get("region")) == region):
                found.add(endpoint.get("interface"))
    return [interface for interface in INTERFACES if interface not in found]


def password_auth_body(user, password, project, domain="Default"):
    """The JSON body of a password authentication scoped to ``project``."""
    return {"auth": {
        "identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"name": domain}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": domain}}},
    }}


def held_generation(names):
    """
    The generation a key repository holding the key files ``names`` is at:
    its highest key number (its primary key; ``0`` is the staged key). 0 when
    it holds no numbered key (a new host).
    """
    numbers = [int(name) for name in names if str(name).isdigit()]
    return max(numbers, default=0)


def rotation_refusal(held, wanted):
    """
    Why moving a key repository from generation ``held`` to ``wanted`` would
    invalidate tokens or credentials still in use ('' when it would not).
    One step at a time is safe: every host at ``wanted - 1`` already holds
    the new primary key as its staged key, so tokens made by a host already
    rotated validate on one not yet rotated, and the other way round. A
    repository with no key yet (a new host) may start at any generation.
    """
    if held == 0 or held in (wanted, wanted - 1):
        return ""
    if held > wanted:
        return (f"holds generation {held}, newer than the {wanted} pillar asks for: "
                "going back would drop the keys of tokens issued since")
    return (f"holds generation {held}; pillar asks for {wanted}: rotate one generation "
            "at a time, or tokens made with the older keys stop validating")


# --------------------------------------------------------------------------
# Salt-facing functions.
# --------------------------------------------------------------------------


def _opener():
    # No proxy from the environment: the stack network is reached directly.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _settings():
    """This host's keystone settings and derived facts (secrets masked), once per job."""
    try:
        cached = __context__.get("hastack_keystone.settings")
    except NameError:
        cached = None
    if cached is None:
        mapdata = __salt__["hastack.mapdata"]()
        keystone = mapdata.get("keystone") or {}
        cached = {
            "local_url": f"http://{keystone.get('http_socket', '')}/v3",
            "url": keystone.get("url", ""),
            "region": keystone.get("region", "RegionOne"),
            "admin_user": keystone.get("admin_user", "admin"),
            "admin_project": keystone.get("admin_project", "admin"),
        }
        try:
            __context__["hastack_keystone.settings"] = cached
        except NameError:
            pass
    return cached


def is_healthy(url=None, timeout=2):
    """
    True when this host's keystone answers ``GET /v3`` with 200 (the check
    HAProxy makes); False otherwise. The keystone tier's health function.

    url
        Default: this host's keystone, ``http://<stack ip>:5000/v3``.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_keystone.is_healthy
    """
    url = url or _settings()["local_url"]
    try:
        with _opener().open(url, timeout=float(timeout)) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.debug("hastack_keystone.is_healthy: %s: %s", url, exc)
        return False


def bootstrapped(url=None, timeout=10):
    """
    True when the admin from pillar (``hastack:secrets:keystone_admin``) gets
    a token from this host's keystone and that token's catalog lists the
    identity service's public, internal and admin endpoints at the VIP URL,
    in the region of the settings. False otherwise (keystone down, no
    bootstrap yet, a changed admin password, endpoints elsewhere): then
    ``keystone-manage bootstrap`` has something to do. The orchestration's
    bootstrap step runs only ``unless`` this answers True.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_keystone.bootstrapped
    """
    settings = _settings()
    url = url or settings["local_url"]
    # Salt 3008 masks secrets that pillar.get returns unless asked not to.
    password = __salt__["pillar.get"]("hastack:secrets:keystone_admin", "", unmask=True)
    if not password:
        log.debug("hastack_keystone.bootstrapped: no admin password in pillar")
        return False
    body = json.dumps(password_auth_body(settings["admin_user"], password, settings["admin_project"])).encode()
    request = urllib.request.Request(f"{url.rstrip('/')}/auth/tokens", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with _opener().open(request, timeout=float(timeout)) as response:
            if response.status != 201:
                return False
            token = json.loads(response.read().decode()).get("token") or {}
    except urllib.error.HTTPError as exc:
        # 401: no such admin yet, or another password. Never log the request.
        log.debug("hastack_keystone.bootstrapped: HTTP %s", exc.code)
        return False
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.debug("hastack_keystone.bootstrapped: %s", exc)
        return False
    missing = identity_endpoints_missing(token.get("catalog"), settings["url"], settings["region"])
    if missing:
        log.debug("hastack_keystone.bootstrapped: no identity endpoint for %s", ", ".join(missing))
    return not missing


def rotation_check():
    """
    Refuse (an error, so the orchestration stops before any key changes) when
    this host's fernet or credential repository is more than one generation
    away from the one pillar asks for (``hastack:keystone:fernet_tokens:generation``,
    ``...:credential:generation``); return ``{repository: {held, wanted}}``
    otherwise. The first step of ``hastack.keystone.rotate``.

    CLI Example:

    .. code-block:: bash

        salt -G 'roles:api' hastack_keystone.rotation_check
    """
    repositories = (__salt__["hastack.mapdata"]().get("keystone") or {}).get("key_repositories") or {}
    found, refusals = {}, []
    for name, spec in sorted(repositories.items()):
        path = spec.get("path") or ""
        held = held_generation(os.listdir(path)) if path and os.path.isdir(path) else 0
        wanted = spec.get("generation")
        found[name] = {"held": held, "wanted": wanted}
        reason = rotation_refusal(held, wanted)
        if reason:
            refusals.append(f"{name} keys ({path}): {reason}")
    if refusals:
        raise CommandExecutionError("; ".join(refusals))
    return found
