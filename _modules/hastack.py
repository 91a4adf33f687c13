"""
Query and validate the ``hastack`` pillar.

The data these functions see is the formula defaults
(``salt://hastack/parameters/defaults.yaml``), the os_family file, and pillar
``hastack:`` merged on top, the same layering ``hastack/map.jinja`` does. A
module cannot render map.jinja, so the YAML files are read through ``cp``.

The logic lives in plain functions that take plain dicts (``merge_config``,
``check_config``, ``roles_of``, ...); the Salt-facing functions only gather the
data and call them.
"""

import ipaddress
import logging

import salt.utils.yaml
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "hastack"

DEFAULTS_URL = "salt://hastack/parameters/defaults.yaml"
OS_FAMILY_URL = "salt://hastack/parameters/os_family/{}.yaml"
PLACEHOLDER = "CHANGE_ME"
# Used only when neither defaults nor pillar set secret_min_length.
FALLBACK_SECRET_MIN_LENGTH = 16


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


def merge_config(defaults_doc, pillar_hastack, os_family_doc=None):
    """
    Layer like map.jinja: ``defaults_doc["values"]`` < ``os_family_doc["values"]``
    < pillar ``hastack``. Any layer may be None.
    """
    config = {}
    for layer in (
        (defaults_doc or {}).get("values"),
        (os_family_doc or {}).get("values"),
        pillar_hastack,
    ):
        if isinstance(layer, dict):
            config = _merge(config, layer)
    return config


def _role_lists(config):
    """Roles whose value is a list, as {role: [minion ids]} (others are skipped)."""
    roles = config.get("roles")
    if not isinstance(roles, dict):
        return {}
    return {role: members for role, members in roles.items() if isinstance(members, list)}


def known_roles(config):
    """Role names the formula knows: the keys of ``role_tiers``."""
    tiers = config.get("role_tiers")
    return sorted(tiers) if isinstance(tiers, dict) else []


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

    required = config.get("required_secrets")
    required = required if isinstance(required, dict) else {}
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


def _check_galera(roles, errors):
    db = roles.get("db") or []
    arbitrators = roles.get("arbitrator") or []
    for minion in sorted(set(db) & set(arbitrators)):
        errors.append(f"minion '{minion}' is in both roles db and arbitrator (a voter must be one or the other)")
    if not db:
        if arbitrators:
            errors.append(f"role arbitrator has members ({_join(arbitrators)}) but role db has none")
        return
    voters = len(db) + len(arbitrators)
    if voters % 2 == 0:
        errors.append(f"even number of Galera voters ({voters}): add an arbitrator")
    elif voters < 3:
        errors.append(f"too few Galera voters ({voters}): need at least 3 (db hosts plus arbitrators)")


def _check_rabbitmq(config, roles, errors):
    """
    Under ``pause_minority`` a node keeps serving only while it sees a strict
    majority of the cluster, so the cluster survives one lost node only with an
    odd count of at least 3 (two nodes: either loss pauses the survivor).
    """
    mq = roles.get("mq") or []
    rabbitmq = config.get("rabbitmq")
    handling = rabbitmq.get("cluster_partition_handling") if isinstance(rabbitmq, dict) else None
    if not mq or handling != "pause_minority":
        return
    if len(mq) % 2 == 0:
        errors.append(
            f"even number of RabbitMQ nodes ({len(mq)}): with pause_minority a partition into "
            "halves pauses every node, and with 2 nodes any single loss pauses the survivor; "
            "use an odd number (put the third broker on the arbitrator host)"
        )
    elif len(mq) < 3:
        errors.append(
            f"too few RabbitMQ nodes ({len(mq)}): with pause_minority the cluster keeps "
            "serving through the loss of one node only with at least 3 nodes"
        )


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
    _check_galera(roles, errors)
    _check_rabbitmq(config, roles, errors)
    _check_keepalived(config, errors)
    for path in _placeholder_paths(config, "hastack"):
        if path not in reported:
            errors.append(f"{path} contains the placeholder {PLACEHOLDER}")
    return errors


def check_pillar(pillar, defaults_doc=None, os_family_doc=None):
    """
    Every problem of a whole pillar dict (the one holding key ``hastack``)
    merged over the formula defaults, as a list of messages.
    """
    hastack = pillar.get("hastack") if isinstance(pillar, dict) else None
    if hastack in (None, {}, ""):
        return ["pillar hastack is missing: assign a pillar with a hastack: key to this minion (see pillar.example)"]
    if not isinstance(hastack, dict):
        return [f"pillar hastack must be a mapping, got {type(hastack).__name__}"]
    return check_config(merge_config(defaults_doc, hastack, os_family_doc))


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


def _layers():
    """(defaults_doc, os_family_doc) as map.jinja would import them."""
    defaults_doc = _read_yaml(DEFAULTS_URL)
    os_family = _grain("os_family") or "Debian"
    return defaults_doc, _read_yaml(OS_FAMILY_URL.format(os_family))


def _pillar():
    """This minion's pillar, reduced to a plain dict holding key hastack."""
    # The loader's __pillar__ is a dict-like context object, not a dict.
    try:
        hastack = __pillar__.get("hastack")
    except NameError:
        hastack = __salt__["pillar.get"]("hastack", None)
    return {"hastack": hastack} if hastack is not None else {}


def _config():
    defaults_doc, os_family_doc = _layers()
    hastack = _pillar().get("hastack")
    return merge_config(defaults_doc, hastack if isinstance(hastack, dict) else {}, os_family_doc)


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
    errors = check_pillar(pillar, *_layers())
    return {"valid": not errors, "errors": errors}
