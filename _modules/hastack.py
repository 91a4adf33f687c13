"""
Query and validate the ``hastack`` pillar.

The data these functions see is the formula defaults
(``salt://hastack/parameters/defaults.yaml``), one file per tier
(``parameters/tiers/<tier>.yaml``), the os_family file, and pillar ``hastack:``
merged on top, the same layering ``hastack/map.jinja`` does. A module cannot
render map.jinja, so the YAML files are read through ``cp``.

Every fact the states and orchestrations use is derived here, once, from the
merged data: ``cluster_view`` (what the whole stack looks like: roles, tiers,
deploy order, HAProxy backends, Galera and RabbitMQ membership) and
``minion_view`` (what one host is: its roles, tiers, address, VRRP priority).
``hastack/map.jinja`` only calls ``mapdata``, which merges the layers and
calls ``derive``.

The logic lives in plain functions that take plain dicts (``merge_config``,
``check_config``, ``cluster_view``, ...); the Salt-facing functions only gather
the data and call them.
"""

import base64
import copy
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import pathlib
import re
import time
import urllib.parse

import salt.utils.yaml
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack"

DEFAULTS_URL = "salt://hastack/parameters/defaults.yaml"
OS_FAMILY_URL = "salt://hastack/parameters/os_family/{}.yaml"
TIERS_PREFIX = "hastack/parameters/tiers/"
PLACEHOLDER = "CHANGE_ME"
# Used only when neither defaults nor pillar set secret_min_length.
FALLBACK_SECRET_MIN_LENGTH = 16
# A state run renders map.jinja once per sls (some 40 in a highstate): the
# parameter files and the derived view are kept this long in __context__.
CACHE_SECONDS = 30
# The parameter files change only with the formula, and a state run reads them
# afresh: other jobs (health checks, drains, beacons) reuse them this long.
LAYERS_CACHE_SECONDS = 300


def __virtual__():
    return __virtualname__


# --------------------------------------------------------------------------
# Pure logic: plain dicts in, plain values out. Unit tests call these.
# --------------------------------------------------------------------------


def _merge(base, over):
    """
    Return ``over`` deep-merged onto ``base``: dicts merge recursively, any
    other value (lists included) replaces. Neither argument is modified.
    """
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merge(base[key], value) if key in base else value
    return merged


def merge_config(defaults_doc, pillar_hastack, os_family_doc=None, tier_docs=()):
    """
    Layer like map.jinja: ``defaults_doc["values"]`` < each tier doc's
    ``values`` < ``os_family_doc["values"]`` < pillar ``hastack``. Any layer
    may be None.
    """
    config = {}
    layers = [(defaults_doc or {}).get("values")]
    layers += [(doc or {}).get("values") for doc in tier_docs]
    layers += [(os_family_doc or {}).get("values"), pillar_hastack]
    for layer in layers:
        if isinstance(layer, dict):
            config = _merge(config, layer)
    return config


def read_layers(formula_dir, os_family="Debian"):
    """
    ``(defaults_doc, tier_docs, os_family_doc)`` read from a formula checkout
    (the directory holding ``parameters/``), for tools that run without Salt's
    file server. Missing files read as None.
    """
    parameters = pathlib.Path(formula_dir) / "parameters"

    def load(path):
        if not path.is_file():
            return None
        doc = salt.utils.yaml.safe_load(path.read_text())
        return doc if isinstance(doc, dict) else None

    tier_docs = [load(path) for path in sorted((parameters / "tiers").glob("*.yaml"))]
    return load(parameters / "defaults.yaml"), tier_docs, load(parameters / "os_family" / f"{os_family}.yaml")


def _role_lists(config):
    """Roles whose value is a list, as {role: [minion ids]} (others are skipped)."""
    roles = config.get("roles")
    if not isinstance(roles, dict):
        return {}
    return {role: members for role, members in roles.items() if isinstance(members, list)}


# --------------------------------------------------------------------------
# Tier blocks: `tiers:<name>` describes a tier once; everything below is
# derived from them.
# --------------------------------------------------------------------------


def tiers_of(config):
    """{tier: block} of every tier block that is a mapping."""
    tiers = config.get("tiers")
    if not isinstance(tiers, dict):
        return {}
    return {name: block for name, block in tiers.items() if isinstance(block, dict)}


def _list(value):
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def tier_roles(block):
    """Roles whose members get a tier."""
    return _list(block.get("roles"))


def is_planned(block):
    """A planned tier is declared (roles, secrets, databases) but has no states yet."""
    return block.get("planned") is True


def known_roles(config):
    """Role names the formula knows: every role some tier block names."""
    return sorted({role for block in tiers_of(config).values() for role in tier_roles(block)})


class TierOrderError(ValueError):
    """The `after` lists of the tier blocks name an unknown tier or form a cycle."""


def deploy_order(config):
    """
    Every tier name, each after the tiers its ``after`` list names; among the
    tiers ready at the same time, by name. Raises TierOrderError on an unknown
    name or a cycle.
    """
    tiers = tiers_of(config)
    waits = {}
    for name, block in tiers.items():
        after = _list(block.get("after"))
        unknown = [dep for dep in after if dep not in tiers]
        if unknown:
            raise TierOrderError(f"hastack:tiers:{name}:after names unknown tier(s) {_join(unknown)}")
        waits[name] = set(after)
    order = []
    while waits:
        ready = sorted(name for name, deps in waits.items() if not deps)
        if not ready:
            raise TierOrderError(f"hastack:tiers:*:after form a cycle among {_join(sorted(waits))}")
        order.append(ready[0])
        del waits[ready[0]]
        for deps in waits.values():
            deps.discard(ready[0])
    return order


def _safe_order(config):
    try:
        return deploy_order(config)
    except TierOrderError:
        return sorted(tiers_of(config))


def role_tiers_of(config):
    """{role: [tiers with states, in deploy order]} for every known role."""
    tiers = tiers_of(config)
    mapping = {role: [] for role in known_roles(config)}
    for name in _safe_order(config):
        block = tiers[name]
        if not is_planned(block):
            for role in tier_roles(block):
                mapping[role].append(name)
    return mapping


def _in_use(block, roles):
    return any(roles.get(role) for role in tier_roles(block))


def databases_of(config):
    """
    {database: {user, secret, tier}} of every tier in use (one of its roles has
    members), in deploy order: the db hosts create them all.
    """
    roles = _role_lists(config)
    tiers = tiers_of(config)
    databases = {}
    for name in _safe_order(config):
        block = tiers[name]
        specs = block.get("databases")
        if _in_use(block, roles) and isinstance(specs, dict):
            for database, spec in specs.items():
                if isinstance(spec, dict):
                    databases[database] = dict(spec, tier=name)
    return databases


def required_secrets_of(config):
    """
    {role: sorted secret names} each role needs: its tiers' ``secrets``, the
    passwords of its tiers' databases, and on a ``database_server`` tier the
    passwords of every database it creates.
    """
    all_database_secrets = {spec.get("secret") for spec in databases_of(config).values()}
    required = {role: set() for role in known_roles(config)}
    for block in tiers_of(config).values():
        names = set(_list(block.get("secrets")))
        specs = block.get("databases")
        if isinstance(specs, dict):
            names.update(spec.get("secret") for spec in specs.values() if isinstance(spec, dict))
        if block.get("database_server") is True:
            names.update(all_database_secrets)
        for role in tier_roles(block):
            required[role].update(name for name in names if isinstance(name, str) and name)
    return {role: sorted(names) for role, names in required.items()}


def all_secret_names(config):
    """Every secret name some tier may ask for (a lab or an installer generates them all)."""
    names = set()
    for block in tiers_of(config).values():
        names.update(_list(block.get("secrets")))
        specs = block.get("databases")
        if isinstance(specs, dict):
            names.update(spec.get("secret") for spec in specs.values() if isinstance(spec, dict))
    return sorted(name for name in names if isinstance(name, str) and name)


def backends_of(config):
    """
    {listener: frontend + servers} of the tiers with states whose role has
    members. A frontend's servers are the members of its ``role`` (default:
    the tier's first role); with ``writers: one`` all but the first are backups.
    """
    roles = _role_lists(config)
    tiers = tiers_of(config)
    backends = {}
    for name in _safe_order(config):
        block = tiers[name]
        frontends = block.get("frontends")
        if is_planned(block) or not isinstance(frontends, dict):
            continue
        for listener, frontend in frontends.items():
            if not isinstance(frontend, dict):
                continue
            role = frontend.get("role") or (tier_roles(block) or [None])[0]
            members = roles.get(role) or []
            one_writer = frontend.get("writers") == "one"
            servers = [
                {"name": member, "ip": ip_of(config, member), "backup": one_writer and index > 0}
                for index, member in enumerate(members)
            ]
            if servers:
                # Every field present, so templates need no defaults of their own.
                check = {"request": "", "port": 0, "expect": "^[234]"}
                check.update(frontend.get("check") if isinstance(frontend.get("check"), dict) else {})
                backend = {"mode": "tcp", "timeout": "", "writers": "all"}
                backend.update(frontend)
                backend.update(role=role, tier=name, check=check, servers=servers)
                backends[listener] = backend
    return backends


def deploy_sequence(config):
    """
    The steps of hastack.deploy after the common one: one per tier with states
    whose roles have members, in deploy order, as
    {tier, sls, members, serial, orchestration}.
    """
    roles = _role_lists(config)
    tiers = tiers_of(config)
    steps = []
    for name in _safe_order(config):
        block = tiers[name]
        if is_planned(block):
            continue
        members = []
        for role in tier_roles(block):
            members.extend(m for m in roles.get(role, []) if m not in members)
        if not members:
            continue
        deploy = block.get("deploy") if isinstance(block.get("deploy"), dict) else {}
        steps.append(
            {
                "tier": name,
                "sls": block.get("sls") or f"hastack.{name}",
                "members": sorted(members) if deploy.get("serial") else members,
                "serial": deploy.get("serial") is True,
                "orchestration": deploy.get("orchestration") or "",
            }
        )
    return steps


def rollout_of(config):
    """
    The hosts ``hastack.rollout`` visits, in id order, as
    [{host, tiers, sls, backends, tier_backends, health}]: each host that carries a tier
    whose block says ``rollout: true`` (a stateless service behind the VIP),
    the states of those tiers (in deploy order), the HAProxy backends the
    host serves them through (drained while it is applied, and only those:
    a host that is also a Galera member keeps its database traffic) and
    their health functions.
    """
    roles = _role_lists(config)
    tiers = tiers_of(config)
    backends = backends_of(config)
    visits = {}
    for name in _safe_order(config):
        block = tiers[name]
        if is_planned(block) or block.get("rollout") is not True:
            continue
        members = []
        for role in tier_roles(block):
            members.extend(m for m in roles.get(role, []) if m not in members)
        health = (block.get("health") or {}).get("function", "") if isinstance(block.get("health"), dict) else ""
        for member in members:
            visit = visits.setdefault(member, {"host": member, "tiers": [], "sls": [], "backends": [],
                                               "tier_backends": {}, "health": []})
            visit["tiers"].append(name)
            visit["sls"].append(block.get("sls") or f"hastack.{name}")
            mine = [listener for listener, backend in backends.items()
                    if backend["tier"] == name and member in [server["name"] for server in backend["servers"]]]
            visit["tier_backends"][name] = mine
            visit["backends"].extend(mine)
            if health:
                visit["health"].append(health)
    return [visits[host] for host in sorted(visits)]


def watch_of(config):
    """
    {tier: {roles, services, drain, health}} of the tiers with states: what the
    auto-heal watches on a host that carries the tier.
    """
    watched = {}
    for name, block in tiers_of(config).items():
        if is_planned(block):
            continue
        watched[name] = {
            "roles": tier_roles(block),
            "services": _list(block.get("services")),
            "drain": block.get("drain") is True,
            "health": block.get("health") if isinstance(block.get("health"), dict) else {},
            "processes": _processes_of(block),
        }
    return watched


def _processes_of(block):
    """
    ``{service: command-line signature}`` of a tier block's ``processes``:
    services found by their process, not by their init script's status.
    Only services the block lists count.
    """
    processes = block.get("processes") if isinstance(block.get("processes"), dict) else {}
    services = _list(block.get("services"))
    return {name: str(sig) for name, sig in processes.items() if name in services and sig}


HEAL_DEFAULTS = {
    "enabled": True,
    "reconcile_interval": 10,
    "answer_timeout": 4,
    "host_grace": 300,
    "lock_ttl": 900,
    "dedupe_window": 60,
    "galera_outage_grace": 60,
    "host_back_retry": 60,
    "backoff": {"max_failures": 3, "max_heals": 3, "window": 1800},
    "beacons": {"service_delay": 2, "service_interval": 5, "cluster_interval": 5, "cluster_status_interval": 30},
    "history": 200,
}


def heal_settings(config):
    """
    The ``heal:`` block of ``config`` over the built-in fallbacks, so callers
    always see every key (an operator's pillar may set only some of them).
    """
    heal = config.get("heal") if isinstance(config.get("heal"), dict) else {}
    return _merge(copy.deepcopy(HEAL_DEFAULTS), heal)


def heal_services_of(config):
    """
    {service: {tier, sls, drain, health}} of every watched service: which
    states restart it (the tier block's ``restart_sls`` for that service, else
    the tier's whole sls), whether its host leaves HAProxy first and which
    function tells that the tier is healthy again. A service listed by two
    tiers belongs to the first in deploy order.
    """
    tiers = tiers_of(config)
    watched = watch_of(config)
    index = {}
    for name in _safe_order(config):
        if name not in watched:
            continue
        spec = watched[name]
        restart = tiers[name].get("restart_sls") if isinstance(tiers[name].get("restart_sls"), dict) else {}
        for service in spec["services"]:
            index.setdefault(
                service,
                {
                    "tier": name,
                    "sls": restart.get(service) or tiers[name].get("sls") or f"hastack.{name}",
                    "drain": spec["drain"],
                    "health": spec["health"].get("function", ""),
                },
            )
    return index


def cluster_beacons_of(config):
    """{tier: custom beacon name} of the tiers with states whose block names a ``beacon``."""
    return {
        name: block["beacon"]
        for name, block in tiers_of(config).items()
        if not is_planned(block) and isinstance(block.get("beacon"), str) and block["beacon"]
    }


def _tiers_of_minion(config, minion):
    """The tiers with states ``minion`` carries, in deploy order."""
    mine = []
    role_tiers = role_tiers_of(config)
    for role in roles_of(config, minion):
        mine.extend(tier for tier in role_tiers.get(role, []) if tier not in mine)
    order = _safe_order(config)
    return sorted(mine, key=order.index)


def beacons_of(config, minion):
    """
    The beacons ``minion`` runs, as ``{beacon name: {option: value}}`` in the
    shape ``beacon.present`` takes as state arguments:

    - ``service``: every service of the minion's tiers (their ``services``),
      reporting a change only (``onchangeonly``), after ``heal:beacons:
      service_delay`` seconds (a debounce), checked every ``heal:beacons:
      service_interval`` seconds (a status can be costly: rabbitmq-server's
      init script runs rabbitmqctl), not at minion start (the
      reconciler covers that), and not during a state run.
    - one custom beacon per carried tier that names one (``beacon``), checked
      every ``heal:beacons:cluster_interval`` seconds, not during a state run.
      The RabbitMQ one is told the minion's node name. A tier's ``processes``
      (services found by their command line) are watched by its custom
      beacon, not by the ``service`` beacon: rabbitmq-server's init-script
      status runs rabbitmqctl, an Erlang VM start (about a second of CPU),
      too dear every few seconds. That beacon asks the cluster itself only
      every ``heal:beacons:cluster_status_interval`` seconds while the
      process runs.

    A minion without roles runs none.
    """
    heal = heal_settings(config)
    beacon_settings = heal["beacons"] if isinstance(heal.get("beacons"), dict) else {}
    delay = beacon_settings.get("service_delay", HEAL_DEFAULTS["beacons"]["service_delay"])
    interval = beacon_settings.get("cluster_interval", HEAL_DEFAULTS["beacons"]["cluster_interval"])
    service_interval = beacon_settings.get("service_interval", HEAL_DEFAULTS["beacons"]["service_interval"])
    status_interval = beacon_settings.get("cluster_status_interval",
                                          HEAL_DEFAULTS["beacons"]["cluster_status_interval"])
    watched = watch_of(config)
    custom = cluster_beacons_of(config)
    my_tiers = _tiers_of_minion(config, minion)

    services = {}
    for tier in my_tiers:
        by_process = watched.get(tier, {}).get("processes", {}) if tier in custom else {}
        for service in watched.get(tier, {}).get("services", []):
            if service in by_process:
                continue
            # Every option the service beacon would fill in itself (it writes
            # its defaults into the running config): the saved config then
            # equals the running one, and beacon.present changes nothing twice.
            services.setdefault(service, {"onchangeonly": True, "delay": delay, "emitatstartup": False,
                                          "oncleanshutdown": False})
    beacons = {}
    if services:
        beacons["service"] = {"services": services, "interval": service_interval, "disable_during_state_run": True}
    rabbit = config.get("rabbitmq") if isinstance(config.get("rabbitmq"), dict) else {}
    for tier in my_tiers:
        if tier not in custom:
            continue
        options = {"interval": interval, "disable_during_state_run": True}
        if tier == "rabbitmq":
            options = {"node": f"{rabbit.get('node_prefix', 'rabbit')}@{minion}", **options,
                       "status_interval": status_interval}
        if watched.get(tier, {}).get("processes"):
            options["processes"] = watched[tier]["processes"]
        beacons[custom[tier]] = options
    return beacons


def roles_of(config, minion):
    """Sorted roles that list ``minion``."""
    return sorted(role for role, members in _role_lists(config).items() if minion in members)


def members_of(config, role):
    """
    Minion ids of ``role``, in pillar order. A known role with no pillar entry
    has no members; a role neither known nor in the pillar raises KeyError.
    """
    roles = _role_lists(config)
    if role not in roles and role not in known_roles(config):
        raise KeyError(role)
    return list(roles.get(role, []))


def stack_minions_of(config):
    """Sorted union of the members of every role."""
    return sorted({m for members in _role_lists(config).values() for m in members if isinstance(m, str)})


def ip_of(config, minion):
    """The stack ip of ``minion`` from ``hosts``, or '' when it has none."""
    hosts = config.get("hosts")
    entry = hosts.get(minion) if isinstance(hosts, dict) else None
    ip = entry.get("ip") if isinstance(entry, dict) else None
    return str(ip) if ip else ""


def _join(items):
    return ", ".join(str(i) for i in items) if items else "none"


def _placeholder_paths(value, path):
    """Yield the colon paths of every string under ``value`` containing CHANGE_ME."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _placeholder_paths(sub, f"{path}:{key}")
    elif isinstance(value, (list, tuple)):
        for index, sub in enumerate(value):
            yield from _placeholder_paths(sub, f"{path}:{index}")
    elif isinstance(value, str) and PLACEHOLDER.lower() in value.lower():
        yield path


def _check_roles(config, errors):
    """Role names and shapes. Returns {role: members} of the usable roles."""
    roles = config.get("roles")
    if not isinstance(roles, dict):
        errors.append(f"hastack:roles must be a mapping of role to minion ids, got {type(roles).__name__}")
        return {}
    known = known_roles(config)
    usable = {}
    for role in sorted(roles, key=str):
        members = roles[role]
        if known and role not in known:
            errors.append(f"unknown role '{role}' in hastack:roles (known roles: {_join(known)})")
            continue
        if not isinstance(members, list):
            errors.append(
                f"hastack:roles:{role} must be a list of minion ids (use [] for none), got {type(members).__name__}"
            )
            continue
        seen = []
        for member in members:
            if not isinstance(member, str):
                errors.append(f"hastack:roles:{role} has a non-string entry {member!r} (minion ids are strings)")
            elif member in seen:
                errors.append(f"hastack:roles:{role} lists minion '{member}' more than once")
            else:
                seen.append(member)
        usable[role] = seen
    return usable


def _check_hosts(config, roles, errors):
    """Host entries against roles. Returns {minion: ip_address} of the valid ips."""
    hosts = config.get("hosts")
    if not isinstance(hosts, dict):
        errors.append(f"hastack:hosts must be a mapping of minion id to {{ip: ...}}, got {type(hosts).__name__}")
        hosts = {}
    in_roles = {}
    for role, members in roles.items():
        for member in members:
            in_roles.setdefault(member, []).append(role)

    for minion in sorted(in_roles):
        if minion not in hosts:
            errors.append(
                f"minion '{minion}' (role(s) {_join(sorted(in_roles[minion]))}) has no entry in hastack:hosts"
            )

    ips = {}
    for minion in sorted(hosts, key=str):
        entry = hosts[minion]
        if minion not in in_roles:
            errors.append(f"hastack:hosts:{minion} is in no role (add it to hastack:roles or remove it)")
        if not isinstance(entry, dict):
            errors.append(f"hastack:hosts:{minion} must be a mapping like {{ip: 10.0.0.11}}")
            continue
        raw = entry.get("ip")
        if raw in (None, ""):
            errors.append(f"hastack:hosts:{minion} has no ip")
            continue
        try:
            ips[minion] = ipaddress.ip_address(str(raw))
        except ValueError:
            errors.append(f"hastack:hosts:{minion}:ip '{raw}' is not a valid IP address")

    by_ip = {}
    for minion, ip in ips.items():
        by_ip.setdefault(ip, []).append(minion)
    for ip, minions in sorted(by_ip.items()):
        if len(minions) > 1:
            errors.append(f"duplicate IP {ip} in hastack:hosts: {_join(sorted(minions))}")
    return ips


def _check_network(config, roles, ips, errors):
    network = config.get("network")
    if not isinstance(network, dict):
        errors.append(f"hastack:network must be a mapping with cidr and vip, got {type(network).__name__}")
        network = {}

    cidr = None
    raw_cidr = network.get("cidr")
    if raw_cidr in (None, ""):
        errors.append("hastack:network:cidr is missing (e.g. 10.250.0.0/24)")
    else:
        try:
            cidr = ipaddress.ip_network(str(raw_cidr))
        except ValueError:
            try:
                # Strict parsing failed; a host-bits-set value still has a clear fix.
                loose = ipaddress.ip_network(str(raw_cidr), strict=False)
                errors.append(f"hastack:network:cidr '{raw_cidr}' has host bits set (did you mean {loose}?)")
            except ValueError:
                errors.append(f"hastack:network:cidr '{raw_cidr}' is not a valid network (e.g. 10.250.0.0/24)")

    if cidr is not None:
        for minion, ip in sorted(ips.items()):
            if ip not in cidr:
                errors.append(f"hastack:hosts:{minion}:ip {ip} is outside hastack:network:cidr {cidr}")

    raw_vip = network.get("vip")
    lb_members = roles.get("lb") or []
    if raw_vip in (None, ""):
        if lb_members:
            errors.append(f"hastack:network:vip is missing but role lb has members ({_join(lb_members)})")
        return
    try:
        vip = ipaddress.ip_address(str(raw_vip))
    except ValueError:
        errors.append(f"hastack:network:vip '{raw_vip}' is not a valid IP address")
        return
    if cidr is not None and vip not in cidr:
        errors.append(f"hastack:network:vip {vip} is outside hastack:network:cidr {cidr}")
    for minion, ip in sorted(ips.items()):
        if ip == vip:
            errors.append(f"hastack:network:vip {vip} is also the ip of host {minion}")


def _check_secrets(config, roles, errors):
    """Required secrets of the roles in use. Returns the paths it reported."""
    reported = set()
    secrets = config.get("secrets")
    if not isinstance(secrets, dict):
        errors.append(f"hastack:secrets must be a mapping of secret name to value, got {type(secrets).__name__}")
        secrets = {}

    min_length = config.get("secret_min_length", FALLBACK_SECRET_MIN_LENGTH)
    if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 1:
        errors.append(f"hastack:secret_min_length must be a positive integer, got {min_length!r}")
        min_length = FALLBACK_SECRET_MIN_LENGTH

    required = required_secrets_of(config)
    needed_by = {}
    for role, members in roles.items():
        names = required.get(role)
        if members and isinstance(names, list):
            for name in names:
                needed_by.setdefault(name, []).append(role)

    for name in sorted(needed_by, key=str):
        path = f"hastack:secrets:{name}"
        why = f"(needed by role(s) {_join(sorted(needed_by[name]))})"
        value = secrets.get(name)
        # Never put `value` into a message: it is a secret.
        if value in (None, ""):
            errors.append(f"{path} is missing {why}")
        elif not isinstance(value, str):
            errors.append(f"{path} must be a string (quote it in YAML) {why}")
        elif PLACEHOLDER.lower() in value.lower():
            errors.append(f"{path} is still {PLACEHOLDER}: set a real secret {why}")
        elif len(value) < min_length:
            errors.append(f"{path} is too short: {len(value)} characters, need at least {min_length} {why}")
        else:
            continue
        reported.add(path)
    return reported


def _setting(config, path):
    """The value at a colon path (``rabbitmq:cluster_partition_handling``) of the config."""
    value = config
    for key in str(path).split(":"):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _check_quorum(config, roles, name, quorum, errors):
    """
    A tier's quorum rule: the members of ``quorum.roles`` together must be at
    least ``minimum`` (or the setting ``minimum_setting``) and, with ``odd``,
    an odd count. ``when: {setting, equals}`` limits the rule to one setting.
    """
    when = quorum.get("when")
    if isinstance(when, dict) and _setting(config, when.get("setting")) != when.get("equals"):
        return
    counted = _list(quorum.get("roles")) or ["?"]
    voters = sum(len(roles.get(role) or []) for role in counted)
    if not voters:
        return
    label = quorum.get("label") or f"{name} members"
    minimum = quorum.get("minimum", 1)
    if quorum.get("minimum_setting"):
        minimum = _setting(config, quorum["minimum_setting"])
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
            errors.append(f"hastack:{quorum['minimum_setting']} must be a positive integer, got {minimum!r}")
            return
    fix = quorum.get("fix") or f"use more hosts in role(s) {_join(counted)}"
    if quorum.get("odd") and voters % 2 == 0:
        errors.append(f"even number of {label} ({voters}): {fix}")
    elif voters < minimum:
        why = quorum.get("why") or f"(role(s) {_join(counted)})"
        errors.append(f"too few {label} ({voters}): need at least {minimum} {why}")


def _check_tiers(config, roles, errors):
    """Tier blocks: a deploy order exists; role exclusions, dependencies and quorum rules hold."""
    try:
        deploy_order(config)
    except TierOrderError as exc:
        errors.append(str(exc))
    for name, block in sorted(tiers_of(config).items()):
        own = [role for role in tier_roles(block) if roles.get(role)]
        if not tier_roles(block):
            errors.append(f"hastack:tiers:{name}:roles names no role (a tier needs at least one)")
        for role in own:
            for other in _list(block.get("excludes_roles")):
                for minion in sorted(set(roles.get(role) or []) & set(roles.get(other) or [])):
                    errors.append(
                        f"minion '{minion}' is in both roles {other} and {role} (a voter must be one or the other)"
                    )
            for needed in _list(block.get("needs_roles")):
                if not roles.get(needed):
                    errors.append(f"role {role} has members ({_join(roles[role])}) but role {needed} has none")
        quorum = block.get("quorum")
        if own and isinstance(quorum, dict):
            _check_quorum(config, roles, name, quorum, errors)


def _check_keepalived(config, errors):
    keepalived = config.get("keepalived")
    if keepalived is None:
        return
    if not isinstance(keepalived, dict):
        errors.append(f"hastack:keepalived must be a mapping, got {type(keepalived).__name__}")
        return

    # (path, label, vrid) of every VRID given.
    vrids = []
    if "vrid" in keepalived:
        vrids.append(("hastack:keepalived:vrid", "hastack:keepalived:vrid", keepalived["vrid"]))
    instances = keepalived.get("instances")
    if instances is not None and not isinstance(instances, list):
        errors.append("hastack:keepalived:instances must be a list of {name, vrid}")
        instances = []
    for index, instance in enumerate(instances or []):
        path = f"hastack:keepalived:instances:{index}"
        if not isinstance(instance, dict) or "vrid" not in instance:
            errors.append(f"{path} must be a mapping with name and vrid")
            continue
        label = f"{path} ({instance['name']})" if instance.get("name") else path
        vrids.append((f"{path}:vrid", label, instance["vrid"]))

    valid = {}
    for path, label, vrid in vrids:
        if isinstance(vrid, bool) or not isinstance(vrid, int) or not 1 <= vrid <= 255:
            errors.append(f"{path} {vrid!r} must be an integer between 1 and 255")
        else:
            valid.setdefault(vrid, []).append(label)
    for vrid, labels in sorted(valid.items()):
        if len(labels) > 1:
            errors.append(f"duplicate VRID {vrid}: used by {_join(labels)}")


_ISO_SECONDS = re.compile(r"^PT(\d+(?:\.\d+)?)S$")


def _iso_seconds(value):
    """Seconds of an ISO 8601 period like PT0.8S (the only form hastack writes); None otherwise."""
    match = _ISO_SECONDS.match(str(value))
    return float(match.group(1)) if match else None


def _check_galera_timeouts(config, errors):
    """Galera refuses to start when its failure-detection periods break its own limits: say so first."""
    galera = config.get("galera") or {}
    if not isinstance(galera, dict):
        return
    options = {**(galera.get("failure_detection") or {}), **(galera.get("provider_options") or {})}
    seconds = {}
    for key in ("evs.keepalive_period", "evs.suspect_timeout", "evs.inactive_check_period",
                "evs.inactive_timeout", "evs.install_timeout"):
        if key in options:
            value = _iso_seconds(options[key])
            if value is None:
                errors.append(f"galera {key} {options[key]!r} must be a period like PT0.8S")
            else:
                seconds[key] = value
    limits = (
        ("evs.keepalive_period", "evs.suspect_timeout", 3),
        ("evs.inactive_check_period", "evs.suspect_timeout", 2),
        ("evs.suspect_timeout", "evs.inactive_timeout", 1),
        ("evs.install_timeout", "evs.inactive_timeout", 1),
    )
    for small, large, ratio in limits:
        if small in seconds and large in seconds and seconds[small] > seconds[large] / ratio:
            share = f"{large}/{ratio}" if ratio > 1 else large
            errors.append(f"galera {small} ({options[small]}) must not exceed {share} ({options[large]})")


def _check_keystone(config, roles, errors):
    """Key repository numbers; the VIP keystone is reached at and reaches its database by."""
    block = tiers_of(config).get("keystone")
    if not isinstance(block, dict) or is_planned(block) or not _in_use(block, roles):
        return
    keystone = config.get("keystone") if isinstance(config.get("keystone"), dict) else {}
    for section in ("fernet_tokens", "credential"):
        settings = keystone.get(section) if isinstance(keystone.get(section), dict) else {}
        for key, minimum in (("generation", 1), ("max_active_keys", 2)):
            value = settings.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                errors.append(f"hastack:keystone:{section}:{key} must be an integer of at least {minimum}, "
                              f"got {value!r}")
    network = config.get("network") if isinstance(config.get("network"), dict) else {}
    # With lb members, the network check says it already.
    if not network.get("vip") and not roles.get("lb"):
        errors.append(f"hastack:network:vip is missing but role api has members ({_join(roles.get('api'))}): "
                      "keystone is reached, and reaches its database, through the VIP (role lb)")


# Characters a database password may hold where a tool rewrites its URL
# (RFC 3986's unreserved set): nova-manage cell_v2 map_cell0 builds cell0's
# URL from [database] connection and mangles a percent-quoted password.
URL_SAFE = re.compile(r"^[A-Za-z0-9._~-]*$")
# {tier: [secret names that must be URL-safe]} (checked where the tier is in use).
URL_SAFE_SECRETS = {"nova": ["db_nova"]}


def _check_openstack(config, roles, errors):
    """Secrets the OpenStack tools cannot carry in a URL as they are."""
    secrets = _section(config, "secrets")
    for tier, names in URL_SAFE_SECRETS.items():
        block = tiers_of(config).get(tier)
        if not isinstance(block, dict) or is_planned(block) or not _in_use(block, roles):
            continue
        for name in names:
            value = secrets.get(name)
            # Never put `value` into a message: it is a secret.
            if isinstance(value, str) and value and not URL_SAFE.match(value):
                errors.append(f"hastack:secrets:{name} may hold only letters, digits and - . _ ~ "
                              f"(nova-manage cell_v2 map_cell0 mangles other characters in the {tier} "
                              "database URL)")


def check_config(config):
    """
    Every problem of a merged hastack config (defaults + pillar), as a list of
    messages; [] when valid. No message contains a secret value.
    """
    errors = []
    roles = _check_roles(config, errors)
    ips = _check_hosts(config, roles, errors)
    _check_network(config, roles, ips, errors)
    reported = _check_secrets(config, roles, errors)
    _check_tiers(config, roles, errors)
    _check_keepalived(config, errors)
    _check_galera_timeouts(config, errors)
    _check_keystone(config, roles, errors)
    _check_openstack(config, roles, errors)
    for path in _placeholder_paths(config, "hastack"):
        if path not in reported:
            errors.append(f"{path} contains the placeholder {PLACEHOLDER}")
    return errors


def check_pillar(pillar, defaults_doc=None, os_family_doc=None, tier_docs=()):
    """
    Every problem of a whole pillar dict (the one holding key ``hastack``)
    merged over the formula defaults, as a list of messages.
    """
    hastack = pillar.get("hastack") if isinstance(pillar, dict) else None
    if hastack in (None, {}, ""):
        return ["pillar hastack is missing: assign a pillar with a hastack: key to this minion (see pillar.example)"]
    if not isinstance(hastack, dict):
        return [f"pillar hastack must be a mapping, got {type(hastack).__name__}"]
    return check_config(merge_config(defaults_doc, hastack, os_family_doc, tier_docs))


# --------------------------------------------------------------------------
# Derived facts: the cluster-wide view, the view of one minion.
# --------------------------------------------------------------------------


def _grant_host(cidr):
    """``network/netmask`` of the stack network for MariaDB grants; '' when invalid."""
    try:
        net = ipaddress.ip_network(str(cidr))
    except ValueError:
        return ""
    return f"{net.network_address}/{net.netmask}"


def _frontend_port(config, tier, listener, fallback):
    """The VIP port of a tier block's HAProxy listener (``fallback`` when the block has none)."""
    block = tiers_of(config).get(tier) or {}
    frontends = block.get("frontends") if isinstance(block.get("frontends"), dict) else {}
    frontend = frontends.get(listener) if isinstance(frontends.get(listener), dict) else {}
    return frontend.get("port") or fallback


def derive_key(seed, label, number):
    """
    One Fernet key (32 bytes, url-safe base64, as ``keystone-manage
    fernet_setup`` writes them): HMAC-SHA256 of ``<label> <number>`` keyed
    with ``seed``. The same seed gives the same key on every host and at
    every apply; without the seed the keys cannot be guessed.
    """
    digest = hmac.new(str(seed).encode(), f"hastack keystone {label} {number}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def key_repository(seed, label, generation, max_active_keys, mask=None):
    """
    ``{file name: key}`` of a keystone key repository (fernet tokens or
    credentials) at ``generation`` (1, 2, ...), laid out the way
    ``keystone-manage fernet_rotate`` leaves it: the staged key in ``0``
    (the key of the next generation), the primary key in ``<generation>``,
    and the secondary keys below it, ``max_active_keys`` keys in all.
    Raising the generation by one is one rotation: the staged key becomes
    the primary (under its new number, with the same material), a new
    staged key comes and the oldest secondary goes, so a token made with
    any key still held validates on every host that is at most one
    generation apart. Empty when the seed or the numbers are unusable
    (validation reports those); with ``mask`` every value is ``mask``.
    """
    if (not seed or isinstance(generation, bool) or not isinstance(generation, int) or generation < 1
            or isinstance(max_active_keys, bool) or not isinstance(max_active_keys, int) or max_active_keys < 2):
        return {}
    numbers = [generation + 1] + list(range(generation, max(generation - max_active_keys + 2, 1) - 1, -1))
    names = ["0"] + [str(number) for number in numbers[1:]]
    return {name: mask if mask else derive_key(seed, label, number)
            for name, number in zip(names, numbers, strict=True)}


def keystone_view(config):
    """
    ``(facts, secret facts)`` of the keystone tier, the same on every api
    host. Facts: the api hosts, keystone's URL on the VIP, the memcached
    servers (every cache host). Secret facts, kept apart so that the states
    can hand the facts to any template: the ``[database] connection``
    (VIP:3306, the keystone user and its password) and both key
    repositories. The states write the secret facts only into files
    readable by root and the keystone group (the keys: keystone only).
    """
    network = config.get("network") if isinstance(config.get("network"), dict) else {}
    secrets = config.get("secrets") if isinstance(config.get("secrets"), dict) else {}
    keystone = config.get("keystone") if isinstance(config.get("keystone"), dict) else {}
    memcached = config.get("memcached") if isinstance(config.get("memcached"), dict) else {}
    roles = _role_lists(config)
    vip = network.get("vip") or ""
    block = tiers_of(config).get("keystone") or {}
    databases = block.get("databases") if isinstance(block.get("databases"), dict) else {}
    database, spec = next(iter(databases.items()), ("keystone", {}))
    spec = spec if isinstance(spec, dict) else {}
    password = urllib.parse.quote(str(secrets.get(spec.get("secret"), "")), safe="")
    db_port = _frontend_port(config, "galera", "galera", 3306)
    options = keystone.get("db_options") or ""
    url = f"http://{vip}:{_frontend_port(config, 'keystone', 'keystone', keystone.get('port', 5000))}/v3"
    seed = secrets.get("keystone_fernet_seed") or ""
    mask = MASK if seed == MASK else None

    repositories, keys = {}, {}
    for name, section in (("fernet", "fernet_tokens"), ("credential", "credential")):
        settings = keystone.get(section) if isinstance(keystone.get(section), dict) else {}
        keys[name] = key_repository(seed, section, settings.get("generation"), settings.get("max_active_keys"), mask)
        repositories[name] = {"path": str(settings.get("key_repository") or ""),
                              "generation": settings.get("generation"),
                              "files": sorted(keys[name], key=int)}
    facts = {
        "members": sorted(roles.get("api", [])),
        "url": url,
        "memcache_servers": [f"{ip_of(config, member)}:{memcached.get('port', 11211)}"
                             for member in roles.get("cache", [])],
        # {fernet|credential: {path, generation, files}}: the key file names each repository holds.
        "key_repositories": repositories,
    }
    secret_facts = {
        "db_connection": (f"{keystone.get('db_driver', 'mysql+pymysql')}://{spec.get('user', database)}:{password}"
                          f"@{vip}:{db_port}/{database}" + (f"?{options}" if options else "")),
        # {fernet|credential: {file name: key}}
        "keys": keys,
    }
    return facts, secret_facts


def _section(config, name):
    value = config.get(name)
    return value if isinstance(value, dict) else {}


def _secret(config, name):
    """A secret's value from ``secrets`` ('' when unset)."""
    return str(_section(config, "secrets").get(name) or "")


def memcache_servers_of(config):
    """``ip:port`` of every cache host, in pillar order."""
    port = _section(config, "memcached").get("port", 11211)
    return [f"{ip_of(config, member)}:{port}" for member in _role_lists(config).get("cache", [])]


def db_connection_of(config, tier, database, driver="mysql+pymysql", options=""):
    """
    The SQLAlchemy URL of one of ``tier``'s databases (its block's
    ``databases``): through the VIP on Galera's frontend port, as the
    database's user, its password URL-quoted.
    """
    block = tiers_of(config).get(tier) or {}
    specs = block.get("databases") if isinstance(block.get("databases"), dict) else {}
    spec = specs.get(database) if isinstance(specs.get(database), dict) else {}
    password = urllib.parse.quote(_secret(config, spec.get("secret")), safe="")
    vip = _section(config, "network").get("vip") or ""
    port = _frontend_port(config, "galera", "galera", 3306)
    return (f"{driver}://{spec.get('user', database)}:{password}@{vip}:{port}/{database}"
            + (f"?{options}" if options else ""))


def vip_url_of(config, tier, listener, fallback_port, path=""):
    """``http://<VIP>:<port of the tier's listener><path>``."""
    vip = _section(config, "network").get("vip") or ""
    return f"http://{vip}:{_frontend_port(config, tier, listener, fallback_port)}{path}"


def _members(config, tier):
    """Members of a tier's roles, sorted."""
    roles = _role_lists(config)
    block = tiers_of(config).get(tier) or {}
    return sorted({member for role in tier_roles(block) for member in roles.get(role, [])})


def transport_url_of(config):
    """
    oslo.messaging's ``transport_url``: the ``openstack`` user (password
    URL-quoted) on every mq host, by minion id (hastack.common writes
    /etc/hosts), and the vhost.
    """
    rabbit = _section(config, "rabbitmq")
    password = urllib.parse.quote(_secret(config, "rabbit_openstack"), safe="")
    brokers = [f"{rabbit.get('openstack_user')}:{password}@{member}:{rabbit.get('amqp_port')}"
               for member in _role_lists(config).get("mq", [])]
    return f"rabbit://{','.join(brokers)}/{rabbit.get('vhost')}"


def cell_url_templates(config):
    """
    The database and RabbitMQ URLs of nova's cell mappings as templates that
    nova fills from the reading host's own nova.conf (``{username}``,
    ``{password}``..., indexed ``{username1}``... for each broker of a
    multi-host transport URL): the nova_api database then holds no password,
    and a rotated password needs no ``update_cell``.
    """
    brokers = _role_lists(config).get("mq", [])
    if len(brokers) > 1:
        netloc = ",".join(f"{{username{i}}}:{{password{i}}}@{{hostname{i}}}:{{port{i}}}"
                          for i in range(1, len(brokers) + 1))
    else:
        netloc = "{username}:{password}@{hostname}:{port}"
    database = "{scheme}://{username}:{password}@{hostname}:{port}/"
    return {
        "cell0_database": database + "nova_cell0?{query}",
        "cell1_database": database + "{path}?{query}",
        "cell1_transport": f"rabbit://{netloc}/{{path}}",
    }


def openstack_view(config):
    """
    ``(facts, secret facts)`` of the OpenStack tiers after keystone
    (placement, nova, compute, horizon), the same on every host. Facts are
    URLs on the VIP and host lists; secret facts, kept apart like keystone's,
    are what holds a password: database URLs, the RabbitMQ transport URL,
    the service accounts' passwords, horizon's secret key. The states write
    the secret facts only into files readable by root and the service's group.
    """
    keystone = _section(config, "keystone")
    placement = _section(config, "placement")
    nova = _section(config, "nova")
    horizon = _section(config, "horizon")
    network = _section(config, "network")
    auth_url = vip_url_of(config, "keystone", "keystone", keystone.get("port", 5000), "/v3")
    common = {
        "auth_url": auth_url,
        "region": keystone.get("region", "RegionOne"),
        "memcache_servers": memcache_servers_of(config),
    }
    facts = {
        "placement": dict(common, members=_members(config, "placement"),
                          url=vip_url_of(config, "placement", "placement", placement.get("port", 8778))),
        "nova": dict(common, members=_members(config, "nova"),
                     url=vip_url_of(config, "nova", "nova", 8774, nova.get("endpoint_path", "")),
                     glance_url=f"http://{network.get('vip') or ''}:{nova.get('glance_port', 9292)}",
                     cell_urls=cell_url_templates(config)),
        # What the compute hosts install: nova-compute with its hypervisor flavour, in one go.
        "compute": dict(common, members=_members(config, "compute"),
                        all_pkgs=_list(_section(config, "compute").get("pkgs"))
                        + _list([_section(config, "compute").get("hypervisor_pkg")])),
    }
    dashboard_ips = [ip_of(config, member) for member in _members(config, "horizon")]
    facts["horizon"] = {
        "members": _members(config, "horizon"),
        "keystone_url": auth_url,
        "keystone_host": network.get("vip") or "",
        "memcache_servers": common["memcache_servers"],
        # The VIP, every dashboard host's stack IP (HAProxy's checks ask those), extra names.
        "allowed_hosts": [host for host in [network.get("vip") or "", *dashboard_ips, *_list(
            horizon.get("allowed_hosts"))] if host],
    }
    transport_url = transport_url_of(config)
    secret_facts = {
        "placement": {
            "db_connection": db_connection_of(config, "placement", "placement",
                                              placement.get("db_driver", "mysql+pymysql"),
                                              placement.get("db_options", "")),
            "service_password": _secret(config, "service_placement"),
        },
        "nova": {
            "db_connection": db_connection_of(config, "nova", "nova", nova.get("db_driver", "mysql+pymysql"),
                                              nova.get("db_options", "")),
            "api_db_connection": db_connection_of(config, "nova", "nova_api",
                                                  nova.get("db_driver", "mysql+pymysql"),
                                                  nova.get("db_options", "")),
            "transport_url": transport_url,
            "service_password": _secret(config, "service_nova"),
            "placement_password": _secret(config, "service_placement"),
        },
        "horizon": {"secret_key": _secret(config, "horizon_secret_key")},
    }
    secret_facts["compute"] = {key: secret_facts["nova"][key]
                               for key in ("transport_url", "service_password", "placement_password")}
    return facts, secret_facts


def cluster_view(config):
    """
    Facts about the whole stack, the same on every minion and on the master
    (orchestrations and reactors use only these):

    - ``stack_minions``, ``host_names``, ``role_tiers``, ``required_secrets``
    - ``deploy``: ``order`` (every tier) and ``sequence`` (the steps hastack.deploy runs)
    - ``rollout``: the hosts ``hastack.rollout`` visits, one at a time (``rollout_of``)
    - ``watch``: per tier, what the auto-heal watches
    - ``heal``: the ``heal:`` settings over their fallbacks, and ``services``:
      per watched service, the tier, sls, drain flag and health function
    - ``galera``: members, databases, users, cluster address, grant host, provider options
    - ``rabbitmq``: cluster nodes, deploy order, transport URL
    - ``haproxy.backends``; ``keepalived``: VIP, VRRP version, auth; ``arbitrator.nodes``
    - ``keystone``: api hosts, URL on the VIP, memcached servers; ``keystone_secrets``: database
      connection and key repositories (built from secrets)
    - ``placement``, ``nova``, ``compute``, ``horizon``: URLs on the VIP, hosts, memcached servers;
      ``<tier>_secrets``: database and transport URLs, service passwords, horizon's key (``openstack_view``)
    """
    roles = _role_lists(config)
    network = config.get("network") if isinstance(config.get("network"), dict) else {}
    hosts = config.get("hosts") if isinstance(config.get("hosts"), dict) else {}
    secrets = config.get("secrets") if isinstance(config.get("secrets"), dict) else {}
    domain = network.get("domain") or ""
    view = {
        "stack_minions": stack_minions_of(config),
        "host_names": {host: ([f"{host}.{domain}", host] if domain else [host]) for host in hosts},
        "role_tiers": role_tiers_of(config),
        "required_secrets": required_secrets_of(config),
        "deploy": {"order": _safe_order(config), "sequence": deploy_sequence(config)},
        "rollout": rollout_of(config),
        "watch": watch_of(config),
        # Settings over their fallbacks, plus which tier heals each watched service.
        "heal": dict(heal_settings(config), services=heal_services_of(config)),
    }

    galera = config.get("galera") or {}
    arbitrator = config.get("arbitrator") or {}
    db = roles.get("db", [])
    voter_ips = [ip_of(config, member) for member in db + roles.get("arbitrator", [])]
    failure_detection = dict(galera.get("failure_detection") or {})
    provider_options = {"pc.recovery": "true", "gcache.size": galera.get("gcache_size"), **failure_detection}
    provider_options.update(galera.get("provider_options") or {})
    databases = databases_of(config)
    socket = galera.get("socket", "")
    view["galera"] = {
        "members": list(db),
        "databases": databases,
        # One account per service user (nova owns three databases).
        "db_users": {spec.get("user"): spec.get("secret") for spec in databases.values()},
        "connection": {
            "socket": socket,
            "cli": f"mariadb --protocol=socket --socket={socket} --user=root -N -B",
        },
        "cluster_address": "gcomm://" + ",".join(voter_ips),
        "grant_host": _grant_host(network.get("cidr")),
        "effective_provider_options": provider_options,
        "provider_options_string": ";".join(f"{key}={value}" for key, value in provider_options.items()),
    }
    # garbd votes in the same group: it must give up on a silent member as fast as the others.
    group_options = {key: provider_options[key] for key in failure_detection}
    view["arbitrator"] = {
        "nodes": ",".join(f"{ip_of(config, m)}:{arbitrator.get('port')}" for m in db),
        "group_options": "".join(f";{key}={value}" for key, value in group_options.items()),
    }

    rabbit = config.get("rabbitmq") or {}
    mq = roles.get("mq", [])
    prefix = rabbit.get("node_prefix", "rabbit")
    view["rabbitmq"] = {
        "cluster_nodes": [f"{prefix}@{member}" for member in sorted(mq)],
        "deploy_order": sorted(mq),
        "transport_url": transport_url_of(config),
        "enabled_plugins": "[rabbitmq_management]." if (rabbit.get("management") or {}).get("enabled") else "[].",
    }

    view["haproxy"] = {"backends": backends_of(config)}
    view["keystone"], view["keystone_secrets"] = keystone_view(config)
    facts, secret_facts = openstack_view(config)
    for tier in ("placement", "nova", "compute", "horizon"):
        view[tier], view[f"{tier}_secrets"] = facts[tier], secret_facts[tier]

    keepalived = config.get("keepalived") or {}
    cidr = str(network.get("cidr") or "")
    prefixlen = cidr.split("/")[-1] if "/" in cidr else "32"
    advert_int = keepalived.get("advert_int", 1)
    vrrp_version = 3 if isinstance(advert_int, (int, float)) and advert_int < 1 else 2
    view["keepalived"] = {
        "vip_cidr": f"{network.get('vip', '')}/{prefixlen}",
        "vrrp_version": vrrp_version,
        "auth_pass": str(secrets.get("keepalived_auth", ""))[:8],
        # Only VRRPv2 writes the password into the config: then its diff must not be shown.
        "show_changes": vrrp_version != 2,
    }
    return view


def hosts_to_roll(hosts, dry_runs):
    """
    The ``hosts`` a deploy must drain and apply, from the answers of
    ``state.sls <tier> test=True`` on them (a ``saltutil.cmd`` return:
    {minion: {"ret": {state: {result, changes}}, "retcode": int}}). A host
    is left alone only when every state of its dry run says True with no
    changes; a predicted change (result None), a failure, a render error
    (a list or a string instead of states) or no answer at all keeps it in.
    A second deploy of a healthy stack then drains nothing.

    CLI Example:

    .. code-block:: bash

        salt-call hastack.hosts_to_roll '[ctl1, ctl2]' '{ctl1: {ret: {}, retcode: 0}}'
    """
    dry_runs = dry_runs or {}
    rolled = []
    for host in hosts:
        answer = dry_runs.get(host)
        states = answer.get("ret") if isinstance(answer, dict) else None
        settled = isinstance(states, dict) and bool(states) and all(
            isinstance(state, dict) and state.get("result") is True and not state.get("changes")
            for state in states.values())
        if not settled:
            rolled.append(host)
    return rolled


def serving_hosts(hosts, health_answers):
    """
    The ``hosts`` whose tier health function answered True, from a
    ``saltutil.cmd`` return of that function on them ({minion: {"ret": ...,
    "retcode": int}}); an error, a False or no answer counts as not serving.
    A deploy rolls a tier one host at a time while one of its hosts serves;
    when none does (a first deploy, after a full outage) there is no traffic
    to keep, and all its hosts are applied at once.

    CLI Example:

    .. code-block:: bash

        salt-call hastack.serving_hosts '[ctl1, ctl2]' '{ctl1: {ret: true, retcode: 0}}'
    """
    answers = health_answers if isinstance(health_answers, dict) else {}
    serving = []
    for host in hosts:
        answer = answers.get(host)
        if isinstance(answer, dict) and answer.get("ret") is True and not answer.get("retcode"):
            serving.append(host)
    return serving


def minion_view(config, minion, ip4_interfaces=None):
    """
    Facts about one minion: ``minion_id``, ``my_roles``, ``my_tiers`` (in
    deploy order), ``my_ip``, ``beacons`` (what ``hastack.beacons`` sets up);
    its RabbitMQ node name, its Galera peers, its VRRP priority, peers and
    interface (the one holding its stack IP, unless ``keepalived:interface``
    is set).
    """
    roles = _role_lists(config)
    my_roles = [role for role, members in roles.items() if minion in members]
    my_tiers = []
    for role_tiers in (role_tiers_of(config).get(role, []) for role in my_roles):
        my_tiers.extend(tier for tier in role_tiers if tier not in my_tiers)
    order = _safe_order(config)
    my_tiers.sort(key=order.index)
    my_ip = ip_of(config, minion)

    keepalived = config.get("keepalived") or {}
    lb = roles.get("lb", [])
    priority = 0
    if minion in lb:
        priority = keepalived.get("priority", 0) - lb.index(minion) * keepalived.get("priority_step", 0)
    interface = keepalived.get("interface", "")
    for name, addresses in sorted((ip4_interfaces or {}).items()):
        if not interface and my_ip and my_ip in (addresses or []):
            interface = name

    rabbit = config.get("rabbitmq") or {}
    keystone = config.get("keystone") if isinstance(config.get("keystone"), dict) else {}
    placement = _section(config, "placement")
    horizon = _section(config, "horizon")
    uwsgi_services = _section(_section(config, "nova"), "uwsgi_services")
    return {
        "minion_id": minion,
        "my_roles": my_roles,
        "my_tiers": my_tiers,
        "my_ip": my_ip,
        # What hastack.beacons configures on this host.
        "beacons": beacons_of(config, minion),
        "rabbitmq": {"node": f"{rabbit.get('node_prefix', 'rabbit')}@{minion}"},
        "galera": {"peer_ips": [ip_of(config, m) for m in roles.get("db", []) if m != minion]},
        # uwsgi's socket: the stack IP only (HAProxy binds the VIP on the same port).
        "keystone": {"http_socket": f"{my_ip}:{keystone.get('port', 5000)}"},
        "placement": {"http_socket": f"{my_ip}:{placement.get('port', 8778)}"},
        "nova": {"http_sockets": {name: f"{my_ip}:{spec.get('port')}" for name, spec in uwsgi_services.items()
                                  if isinstance(spec, dict)}},
        # Apache's Listen: the stack IP only (HAProxy binds the VIP's port 80).
        "horizon": {"listen": f"{my_ip}:{horizon.get('port', 80)}"},
        "keepalived": {
            "interface": interface,
            "my_priority": priority,
            "peers": [ip_of(config, m) for m in lb if m != minion],
        },
    }


def derive(config, minion, ip4_interfaces=None):
    """
    The merged config with the cluster view and the view of ``minion`` merged
    in: what ``hastack/map.jinja`` hands to the states as ``mapdata``.

    config
        The merged layers (defaults < tiers < os_family < pillar).

    minion
        The minion id the per-minion facts are for.

    ip4_interfaces
        The ``ip4_interfaces`` grain of that minion.

    CLI Example:

    .. code-block:: bash

        salt-call hastack.derive '{"roles": {"db": ["ctl1"]}}' ctl1
    """
    derived = copy.deepcopy(config if isinstance(config, dict) else {})
    derived = _merge(derived, cluster_view(derived))
    return _merge(derived, minion_view(derived, minion, ip4_interfaces))


# --------------------------------------------------------------------------
# Salt-facing wrappers.
# --------------------------------------------------------------------------


def _read_yaml(url):
    """Parsed YAML at a salt:// url, or None when it cannot be had."""
    try:
        text = __salt__["cp.get_file_str"](url)
    except (CommandExecutionError, KeyError, OSError) as exc:
        log.warning("hastack: cannot read %s: %s", url, exc)
        return None
    if not text:
        log.warning("hastack: %s not found, going on without it", url)
        return None
    try:
        doc = salt.utils.yaml.safe_load(text)
    except salt.utils.yaml.YAMLError as exc:
        log.warning("hastack: cannot parse %s: %s", url, exc)
        return None
    return doc if isinstance(doc, dict) else None


def _grain(name, default=None):
    try:
        return __grains__.get(name, default)
    except NameError:
        return default


def _tier_urls():
    """salt:// urls of the tier files, by name."""
    try:
        listed = __salt__["cp.list_master"](prefix=TIERS_PREFIX)
    except (CommandExecutionError, KeyError, OSError) as exc:
        log.warning("hastack: cannot list %s: %s", TIERS_PREFIX, exc)
        return []
    return [f"salt://{path}" for path in sorted(listed or []) if path.endswith(".yaml")]


def _cached(key, build):
    """
    ``build()``, kept in ``__context__`` under ``key`` for CACHE_SECONDS. A
    minion job gets a fresh context, so this only spares the repeats inside one
    run; in a long-lived process (reactor, engine) a changed file is read again
    after CACHE_SECONDS.
    """
    try:
        store = __context__.setdefault("hastack.cache", {})
    except NameError:
        return build()
    now = time.monotonic()
    hit = store.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = build()
    store[key] = (now, value)
    return value


def _layers_cache_path(os_family):
    """The file that keeps the parameter layers between jobs, or None without a cachedir."""
    try:
        cachedir = __opts__.get("cachedir")
    except NameError:
        return None
    if not cachedir:
        return None
    return pathlib.Path(cachedir) / "hastack" / f"layers-{os_family}.json"


def _read_layers_cache(path):
    """The layers kept at ``path`` if younger than LAYERS_CACHE_SECONDS, else None."""
    try:
        if time.time() - path.stat().st_mtime >= LAYERS_CACHE_SECONDS:
            return None
        layers = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(layers, list) or len(layers) != 3:
        return None
    return layers[0], layers[1], layers[2]


def _write_layers_cache(path, layers):
    """Keep ``layers`` at ``path`` (atomically: other jobs may read it meanwhile)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        scratch.write_text(json.dumps(list(layers)), encoding="utf-8")
        os.replace(scratch, path)
    except OSError as exc:
        log.debug("hastack: cannot keep the parameter layers in %s: %s", path, exc)


def _layers(fresh=False):
    """
    (defaults_doc, os_family_doc, tier_docs) as map.jinja would import them.

    Reading them costs one master round trip per file (some 16, seconds on a
    busy master), and every job that calls a function of the formula needs
    them: they are kept on disk for LAYERS_CACHE_SECONDS across jobs. A state
    run asks for them ``fresh`` (map.jinja), so a formula update is seen by
    the next apply at once and refreshes what the other jobs read.
    """
    os_family = _grain("os_family") or "Debian"

    def read():
        path = _layers_cache_path(os_family)
        layers = None if fresh or path is None else _read_layers_cache(path)
        if layers is None:
            defaults_doc = _read_yaml(DEFAULTS_URL)
            tier_docs = [_read_yaml(url) for url in _tier_urls()]
            layers = (defaults_doc, _read_yaml(OS_FAMILY_URL.format(os_family)), tier_docs)
            # A failed read (None) is never kept: the next job asks the master again.
            if path is not None and defaults_doc is not None:
                _write_layers_cache(path, layers)
        return layers
    return copy.deepcopy(_cached(("layers", os_family, bool(fresh)), read))


def _pillar():
    """This minion's pillar, reduced to a plain dict holding key hastack."""
    # The loader's __pillar__ is a dict-like context object, not a dict.
    try:
        hastack = __pillar__.get("hastack")
    except NameError:
        hastack = __salt__["pillar.get"]("hastack", None)
    return {"hastack": hastack} if hastack is not None else {}


def _config(fresh=False):
    defaults_doc, os_family_doc, tier_docs = _layers(fresh)
    hastack = _pillar().get("hastack")
    return merge_config(defaults_doc, hastack if isinstance(hastack, dict) else {}, os_family_doc, tier_docs)


def _this_minion():
    minion = _grain("id")
    if not minion:
        minion = __opts__["id"]
    return minion


def roles(minion=None):
    """
    Return the sorted roles of a minion (default: this minion).

    minion
        Minion id; defaults to the id of the minion running the function.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack.roles
        salt-call hastack.roles minion=db1
    """
    return roles_of(_config(), minion or _this_minion())


def members(role):
    """
    Return the minion ids of a role, in pillar order.

    role
        A role name, e.g. ``db``. An unknown role raises an error.

    CLI Example:

    .. code-block:: bash

        salt-call hastack.members db
    """
    config = _config()
    try:
        return members_of(config, role)
    except KeyError:
        raise CommandExecutionError(f"unknown role '{role}' (known roles: {_join(known_roles(config))})") from None


def ip(minion=None):
    """
    Return the stack ip of a minion (default: this minion) from ``hastack:hosts``.

    minion
        Minion id; defaults to the id of the minion running the function.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack.ip
        salt-call hastack.ip minion=ctl2
    """
    minion = minion or _this_minion()
    address = ip_of(_config(), minion)
    if not address:
        raise CommandExecutionError(f"minion '{minion}' has no ip in hastack:hosts")
    return address


def stack_minions():
    """
    Return the sorted ids of every minion that has at least one role.

    CLI Example:

    .. code-block:: bash

        salt-call hastack.stack_minions
    """
    return stack_minions_of(_config())


def validate(pillar=None):
    """
    Check the hastack pillar merged over the formula defaults and report every
    problem at once. Returns ``{"valid": bool, "errors": [message, ...]}``.
    Messages name the offending key and never contain a secret value.

    pillar
        A whole pillar dict (holding key ``hastack``) to check instead of this
        minion's pillar.

    CLI Example:

    .. code-block:: bash

        salt-call hastack.validate
        salt-call hastack.validate pillar='{"hastack": {"roles": {"db": [db1]}}}'
    """
    if pillar is None:
        pillar = _pillar()
    elif not isinstance(pillar, dict):
        raise CommandExecutionError(f"pillar must be a dict holding key hastack, got {type(pillar).__name__}")
    defaults_doc, os_family_doc, tier_docs = _layers()
    errors = check_pillar(pillar, defaults_doc, os_family_doc, tier_docs)
    return {"valid": not errors, "errors": errors}


MASK = "********"


def mapdata(minion=None, unmask=False, fresh=False):
    """
    Return the merged settings and derived facts of a minion (default: this
    minion), as the states see them through map.jinja. Other modules of the
    formula read their settings here instead of from raw pillar. Secrets (and
    what is built from them) are masked unless ``unmask`` is true.

    minion
        Minion id; defaults to the id of the minion running the function.

    unmask
        Return the real secrets (only for code that needs them: map.jinja).

    fresh
        Read the parameter files from the master, not from the copy other
        jobs keep (map.jinja does: a state run sees a formula update at once).

    The answer is kept for CACHE_SECONDS per pillar, minion and interfaces.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack.mapdata
        salt-call --out yaml hastack.mapdata minion=ctl2
    """
    minion = minion or _this_minion()
    interfaces = _grain("ip4_interfaces", {}) if minion == _this_minion() else {}

    def build():
        config = _config(fresh)
        if not unmask and isinstance(config.get("secrets"), dict):
            config["secrets"] = {name: MASK for name in config["secrets"]}
        return derive(config, minion, interfaces)
    # The pillar is part of the key: an orchestration's pillar override is seen.
    key = ("mapdata", minion, bool(unmask), bool(fresh), json.dumps(_pillar(), sort_keys=True, default=str),
           json.dumps(interfaces, sort_keys=True, default=str))
    return copy.deepcopy(_cached(key, build))


def deploy_steps():
    """
    Return the tier steps of ``hastack.deploy``, in the order they run: one
    ``{tier, sls, members, serial, orchestration}`` per tier in use.

    CLI Example:

    .. code-block:: bash

        salt-call hastack.deploy_steps
    """
    return deploy_sequence(_config())


def wait_healthy(function, timeout=120, interval=1):
    """
    Call the health function ``function`` (a tier's ``health:function``, e.g.
    ``hastack_galera.is_synced``) until it answers a true value; return that
    answer. Raises an error when ``timeout`` seconds pass first. An empty
    ``function`` (a tier without a health check) answers True at once.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack.wait_healthy hastack_galera.is_synced timeout=300
    """
    if not function:
        return True
    if function not in __salt__:
        raise CommandExecutionError(f"health function {function} is not available on this minion")
    deadline = time.monotonic() + float(timeout)
    last = None
    while True:
        try:
            last = __salt__[function]()
        except CommandExecutionError as exc:
            last = f"error: {exc}"
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise CommandExecutionError(f"{function} not healthy after {timeout} s (last answer: {last!r})")
        time.sleep(float(interval))



def process_running(signature):
    """
    True when a process of this host (its pid namespace) has ``signature`` in
    its command line (arguments joined by spaces; a plain substring, not a
    pattern). Reads /proc: no command is run, so it is cheap enough for a
    beacon every few seconds.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack.process_running '-s rabbit boot'
    """
    signature = str(signature or "")
    if not signature:
        return False
    for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().rstrip(b"\0").split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        if signature in b" ".join(args).decode(errors="replace"):
            return True
    return False


def heal_probe(services=(), processes=None):
    """
    What the master's reconciler asks every stack host: ``{"services":
    {name: running}, "galera": wsrep status or None}``. ``services`` are the
    names to check (the reconciler sends every watched name and compares only
    those the host's tiers want); ``processes`` maps some of them to a
    command-line signature, checked with ``process_running`` instead of the
    init script (rabbitmq-server's status starts an Erlang VM). ``galera`` is
    None where MariaDB is not installed or does not answer.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack.heal_probe '[mariadb, memcached]'
    """
    if isinstance(services, str):
        services = [name for name in services.split(",") if name]
    processes = processes if isinstance(processes, dict) else {}
    running = {}
    for name in services or []:
        if processes.get(name):
            running[name] = process_running(processes[name])
            continue
        try:
            running[name] = bool(__salt__["service.status"](name))
        except (CommandExecutionError, KeyError) as exc:
            log.debug("hastack.heal_probe: service.status %s: %s", name, exc)
            running[name] = False
        if not running[name]:
            # Init scripts without a status action (Debian's keepalived) say
            # "not running" always: a process of that exact name says otherwise.
            running[name] = __salt__["cmd.retcode"](["pgrep", "-x", name], python_shell=False,
                                                    ignore_retcode=True) == 0
    galera = None
    if "hastack_galera.status" in __salt__:
        try:
            galera = __salt__["hastack_galera.status"]()
        except CommandExecutionError as exc:
            log.debug("hastack.heal_probe: %s", exc)
    return {"services": running, "galera": galera}
