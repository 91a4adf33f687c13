"""
Keystone on this api host: is it healthy, and is the identity service
bootstrapped (the admin can log in and the catalog lists keystone's own
endpoints at the VIP); and the registration of the other services (their
users, services and endpoints at the VIP, ``register_service``).

Both ask this host's keystone on its stack IP (not the VIP), so the answer
is about this host. The admin password is read from pillar here, on the
minion, and sent only in the body of the request: never on a command line,
in a log line or in a return value.
"""

import http.client
import json
import logging
import os
import urllib.error
import urllib.parse
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


# --------------------------------------------------------------------------
# Service registration: a service's user, its role on the service project,
# the service and its endpoints at the VIP.
# --------------------------------------------------------------------------


def endpoint_changes(endpoints, url, region, interfaces=INTERFACES):
    """
    What bringing a service's ``endpoints`` (keystone's endpoint list, any
    region and interface) to one endpoint per interface at ``url`` in
    ``region`` takes, as ``{"create": [interface], "update": {interface:
    endpoint id}}``; both empty when they are in place.
    """
    create, update = [], {}
    for interface in interfaces:
        mine = [endpoint for endpoint in endpoints or []
                if isinstance(endpoint, dict) and endpoint.get("interface") == interface
                and endpoint.get("region_id", endpoint.get("region")) == region]
        if not mine:
            create.append(interface)
        elif not any(str(endpoint.get("url", "")).rstrip("/") == url.rstrip("/") for endpoint in mine):
            update[interface] = mine[0].get("id")
    return {"create": create, "update": update}


class Keystone:
    """
    Keystone's identity API, as the admin: ``request(method, path, body)``
    gives ``(status, parsed JSON body)``. Only the token travels in headers;
    passwords only in request bodies.
    """

    def __init__(self, url, timeout=10, opener=None):
        self.url = url.rstrip("/")
        self.timeout = float(timeout)
        self.opener = opener or _opener()
        self.token = ""

    def request(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        if self.token:
            request.add_header("X-Auth-Token", self.token)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
                return response.status, (json.loads(raw.decode()) if raw else {}), response.headers
        except urllib.error.HTTPError as exc:
            return exc.code, {}, exc.headers
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            # No answer (refused, reset, timed out) or a broken one: an error the
            # caller reports, not a traceback. Only the method and the collection
            # are named; a body may hold a password.
            reason = getattr(exc, "reason", None) or exc
            raise CommandExecutionError(
                f"keystone at {self.url}: {method} /{path.lstrip('/').split('/')[0].split('?')[0]} "
                f"got no answer: {type(reason).__name__}: {reason}") from None

    def authenticate(self, user, password, project):
        """Log in; True on success (the token is kept for the next requests)."""
        status, _body, headers = self.request("POST", "/auth/tokens", password_auth_body(user, password, project))
        if status != 201:
            return False
        self.token = headers.get("X-Subject-Token", "")
        return bool(self.token)

    def can_log_in(self, user, password, project):
        """True when ``user`` gets a token for ``project`` with ``password`` (the admin token is kept)."""
        status, _body, _headers = Keystone(self.url, self.timeout, self.opener).request(
            "POST", "/auth/tokens", password_auth_body(user, password, project))
        return status == 201

    def find(self, collection, **query):
        """The first ``collection`` entry matching ``query`` (keystone's list filters), or None."""
        path = f"/{collection}?" + urllib.parse.urlencode(query)
        status, body, _headers = self.request("GET", path)
        if status != 200:
            raise CommandExecutionError(f"keystone: GET /{collection} answered {status}")
        items = body.get(collection) or []
        return items[0] if items else None

    def create(self, collection, kind, fields):
        status, body, _headers = self.request("POST", f"/{collection}", {kind: fields})
        if status not in (200, 201):
            raise CommandExecutionError(f"keystone: creating a {kind} answered {status}")
        return body.get(kind) or {}

    def change(self, method, path, body=None, expect=(200, 204)):
        status, _body, _headers = self.request(method, path, body)
        if status not in expect:
            raise CommandExecutionError(f"keystone: {method} {path.split('/')[1]} answered {status}")


def register(keystone, admin_password, spec, password, test=False):
    """
    Bring keystone to ``spec`` (name, type, description, url, region, user,
    project, role, domain, admin_user, admin_project): the user with
    ``password`` (a changed password is set again), its role on the project,
    the service and one endpoint per interface at the URL. Returns the
    changes, without any password: ``{}`` when everything is in place. With
    ``test``, nothing is written.
    """
    if not keystone.authenticate(spec["admin_user"], admin_password, spec["admin_project"]):
        raise CommandExecutionError("keystone refused the admin from pillar (hastack:secrets:keystone_admin)")
    changes = {}
    domain = keystone.find("domains", name=spec["domain"])
    if domain is None:
        raise CommandExecutionError(f"keystone has no domain {spec['domain']}")
    project = keystone.find("projects", name=spec["project"], domain_id=domain["id"])
    if project is None:
        changes["project"] = "created"
        project = {"id": ""} if test else keystone.create(
            "projects", "project", {"name": spec["project"], "domain_id": domain["id"],
                                    "description": "Service accounts"})
    user = keystone.find("users", name=spec["user"], domain_id=domain["id"])
    if user is None:
        changes["user"] = "created"
        user = {"id": ""} if test else keystone.create(
            "users", "user", {"name": spec["user"], "domain_id": domain["id"], "password": password,
                              "enabled": True})
    elif not keystone.can_log_in(spec["user"], password, spec["project"]):
        # Also when the role is still missing: setting the same password again is harmless.
        changes["user"] = "password set"
        if not test:
            keystone.change("PATCH", f"/users/{user['id']}", {"user": {"password": password, "enabled": True}})
    role = keystone.find("roles", name=spec["role"])
    if role is None:
        raise CommandExecutionError(f"keystone has no role {spec['role']} (made by the keystone bootstrap)")
    assignment = f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}"
    if not (project["id"] and user["id"]) or keystone.request("HEAD", assignment)[0] != 204:
        changes["role"] = f"{spec['role']} on {spec['project']}"
        if not test:
            keystone.change("PUT", assignment)
    service = keystone.find("services", type=spec["type"])
    if service is None:
        changes["service"] = "created"
        service = {"id": ""} if test else keystone.create(
            "services", "service", {"name": spec["name"], "type": spec["type"],
                                    "description": spec.get("description", ""), "enabled": True})
    endpoints = []
    if service["id"]:
        status, body, _headers = keystone.request("GET", f"/endpoints?service_id={service['id']}")
        if status != 200:
            raise CommandExecutionError(f"keystone: GET /endpoints answered {status}")
        endpoints = body.get("endpoints") or []
    plan = endpoint_changes(endpoints, spec["url"], spec["region"])
    for interface in plan["create"]:
        changes.setdefault("endpoints", {})[interface] = spec["url"]
        if not test:
            keystone.create("endpoints", "endpoint", {"service_id": service["id"], "interface": interface,
                                                      "url": spec["url"], "region_id": spec["region"],
                                                      "enabled": True})
    for interface, endpoint_id in plan["update"].items():
        changes.setdefault("endpoints", {})[interface] = spec["url"]
        if not test:
            keystone.change("PATCH", f"/endpoints/{endpoint_id}", {"endpoint": {"url": spec["url"]}})
    return changes


def register_service(name, service_type, url, user, password_pillar, description="", project="service",
                     role="admin", domain="Default", test=False, timeout=10):
    """
    Register an OpenStack service in keystone, idempotently: its user
    (password from pillar ``password_pillar``), the ``role`` of that user on
    ``project`` (made if missing), the service (``name``, ``service_type``)
    and its public, internal and admin endpoints at ``url`` in the region of
    the keystone settings. Talks to keystone's API through the VIP as the
    admin (``hastack:secrets:keystone_admin``); both passwords are read from
    pillar here, on the minion, and travel only in request bodies. Returns
    the changes (``{}`` when all was in place), never a password. ``test``
    changes nothing and returns what would change.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_keystone.register_service placement placement \\
            http://10.250.0.10:8778 placement hastack:secrets:service_placement test=True
    """
    mapdata = __salt__["hastack.mapdata"]()
    keystone = mapdata.get("keystone") or {}
    # Salt 3008 masks secrets that pillar.get returns unless asked not to.
    admin_password = __salt__["pillar.get"]("hastack:secrets:keystone_admin", "", unmask=True)
    password = __salt__["pillar.get"](password_pillar, "", unmask=True)
    if not admin_password or not password:
        missing = "hastack:secrets:keystone_admin" if not admin_password else password_pillar
        raise CommandExecutionError(f"no password in pillar {missing}")
    spec = {"name": name, "type": service_type, "description": description, "url": url,
            "region": keystone.get("region", "RegionOne"), "user": user, "project": project, "role": role,
            "domain": domain, "admin_user": keystone.get("admin_user", "admin"),
            "admin_project": keystone.get("admin_project", "admin")}
    return register(Keystone(keystone.get("url", ""), timeout), admin_password, spec, password, test=test)
