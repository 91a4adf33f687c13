"""
States that keep a RabbitMQ node in its cluster (hastack).

.. code-block:: yaml

    hastack-rabbitmq-cluster-joined:
      hastack_rabbitmq.clustered:
        - name: rabbit@ctl2
        - peers: [rabbit@ctl1, rabbit@ctl3]
"""

__virtualname__ = "hastack_rabbitmq"


def __virtual__():
    if "hastack_rabbitmq.status" in __salt__:
        return __virtualname__
    return (False, "hastack_rabbitmq execution module not available")


def _ret(name):
    return {"name": name, "result": True, "comment": "", "changes": {}}


def _peer_views(name, peers):
    return {peer: __salt__["hastack_rabbitmq.status"](node=peer) for peer in peers if peer != name}


def clustered(name, peers, timeout=120):
    """
    Ensure node ``name`` (this minion's node) is a running member of the best
    cluster among ``peers`` (see ``hastack_rabbitmq.choose_join_target``).
    Joins only a node that is not a member yet: on a formed cluster this
    changes nothing and restarts nothing.

    name
        This minion's node name, e.g. ``rabbit@ctl2``.
    peers
        Every node of the ``mq`` role (this one may be included).
    timeout
        Seconds to wait for join_cluster and start_app.
    """
    ret = _ret(name)
    mine = __salt__["hastack_rabbitmq.status"]()
    if mine is None:
        ret["result"] = False
        ret["comment"] = f"{name} is not running; start rabbitmq-server first"
        return ret
    if name in mine["running"] and set(peers) <= set(mine["running"]):
        # Every peer runs in this node's cluster: nothing to ask them (each
        # question is a rabbitmqctl run, an Erlang VM start).
        ret["comment"] = f"{name} is a member of cluster {mine['cluster_name']} ({', '.join(mine['running'])} running)"
        return ret
    views = _peer_views(name, peers)
    target = __salt__["hastack_rabbitmq.choose_join_target"](name, mine, views)
    if target is None:
        ret["comment"] = f"{name} is a member of cluster {mine['cluster_name']} ({', '.join(mine['running'])} running)"
        return ret
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"{name} would be reset and join the cluster of {target}"
        ret["changes"] = {"joined": target}
        return ret
    after = __salt__["hastack_rabbitmq.join"](target, timeout=timeout)
    ret["changes"] = {"joined": target, "members": after["members"] if after else []}
    ret["comment"] = f"{name} joined the cluster of {target}"
    if not after or name not in after["running"]:
        ret["result"] = False
        ret["comment"] += ", but it is not running afterwards"
    return ret


def forgotten_data_absent(name, peers, data_dir, service="rabbitmq-server"):
    """
    For a node the cluster has forgotten (``forget_cluster_node`` while it was
    down): stop it and remove its Mnesia data, so it starts as a blank node
    that ``clustered`` then joins. Does nothing while any running peer still
    lists the node as a member, when no peer runs (a forget needs a running
    majority), or when the node already runs on its own.

    name
        This minion's node name.
    peers
        Every node of the ``mq`` role.
    data_dir
        RabbitMQ's data dir (the node's Mnesia dir lives below it).
    """
    ret = _ret(name)
    views = _peer_views(name, peers)
    running_views = {p: v for p, v in views.items() if v and p in v["running"]}
    if not running_views:
        # No peer runs (down, or paused by pause_minority, which answers no
        # cluster_status): a forget needs a running majority, so nobody can
        # have forgotten this node since the cluster lost it. Its data stays;
        # its start may give a paused peer its majority back.
        ret["comment"] = (f"no peer among {', '.join(sorted(views))} runs: nobody can have forgotten "
                          f"{name} without a majority, its data stays")
        return ret
    if any(name in v["members"] for v in running_views.values()):
        ret["comment"] = f"{name} is still a member of the cluster: its data stays"
        return ret
    mine = __salt__["hastack_rabbitmq.status"]()
    if mine is not None and mine["members"] == [name]:
        ret["comment"] = f"{name} runs on its own (reset): it only needs to join"
        return ret
    mnesia = f"{data_dir}/mnesia"
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"{name} was forgotten: would stop it and remove {mnesia}"
        ret["changes"] = {"removed": mnesia}
        return ret
    if not __salt__["service.stop"](service):
        ret["result"] = False
        ret["comment"] = (
            f"{name} was forgotten by the cluster, but {service} could not be stopped: "
            f"{mnesia} was left in place"
        )
        return ret
    ret["changes"] = {"stopped": service}
    try:
        # False when there was nothing to remove: then nothing is left either.
        removed = __salt__["file.remove"](mnesia)
    except Exception as exc:  # pylint: disable=broad-except
        removed, error = False, f": {exc}"
    else:
        error = ""
    if not removed and (error or __salt__["file.directory_exists"](mnesia)):
        ret["result"] = False
        ret["comment"] = (
            f"{name} was forgotten by the cluster and {service} is stopped, but {mnesia} "
            f"could not be removed{error}"
        )
        return ret
    if removed:
        ret["changes"]["removed"] = mnesia
        ret["comment"] = f"{name} was forgotten by the cluster: its stale data is removed"
    else:
        ret["comment"] = f"{name} was forgotten by the cluster: it is stopped and holds no data"
    return ret


def user_present(name, password_pillar, perms=None):
    """
    Internal user ``name`` exists, authenticates with the password stored in
    pillar at ``password_pillar`` (e.g. ``hastack:secrets:rabbit_openstack``)
    and holds ``perms``. Users are cluster-wide, so this converges the whole
    cluster from any running member.

    The password is read from pillar here, on the minion: it is in no state
    argument, so neither the rendered SLS nor the low data nor any return holds
    it, and rabbitmqctl gets it on stdin (Salt's ``rabbitmq_user`` puts it on
    the command line). A changed pillar value is set at the next apply.

    name
        The user name.
    password_pillar
        Colon-delimited pillar key of the password.
    perms
        ``{vhost: [configure, write, read]}``; vhosts not listed are left alone.

    .. code-block:: yaml

        hastack-rabbitmq-users-openstack-user-present:
          hastack_rabbitmq.user_present:
            - name: openstack
            - password_pillar: hastack:secrets:rabbit_openstack
            - perms:
                openstack: ['.*', '.*', '.*']
    """
    ret = _ret(name)
    password = __salt__["pillar.get"](password_pillar, None, unmask=True)
    if not password:
        ret["result"] = False
        ret["comment"] = f"pillar {password_pillar} is empty or missing: no password for user {name}"
        return ret
    # The password check first: it passes on a converged cluster, and then
    # listing the users (one more rabbitmqctl run) is not needed.
    if __salt__["hastack_rabbitmq.check_password"](name, password):
        exists, action = True, None
    else:
        exists = __salt__["hastack_rabbitmq.user_exists"](name)
        action = "changed" if exists else "created"
    held = __salt__["hastack_rabbitmq.permissions"](name) if exists else {}
    missing = {vhost: list(want) for vhost, want in (perms or {}).items()
               if held.get(vhost) != list(want)}
    if action is None and not missing:
        ret["comment"] = f"user {name} is present with its password and permissions"
        return ret
    changes = {}
    if action:
        # Says that the password changed, never what it is.
        changes["password"] = action
    if missing:
        changes["perms"] = missing
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"user {name} would be updated: {', '.join(sorted(changes))}"
        ret["changes"] = changes
        return ret
    if action:
        __salt__["hastack_rabbitmq.set_password"](name, password)
    for vhost, (configure, write, read) in missing.items():
        __salt__["hastack_rabbitmq.set_permissions"](name, vhost, configure, write, read)
    ret["changes"] = changes
    ret["comment"] = f"user {name} updated: {', '.join(sorted(changes))}"
    return ret
