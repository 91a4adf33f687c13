"""
States of the keystone tier for the services that register in it.

``hastack_keystone.service_registered`` makes an OpenStack service known to
keystone: its user (password from pillar), that user's role on the service
project, the service and its endpoints at the VIP. It reads every password
from pillar on the minion (``hastack_keystone.register_service``); none is a
state argument, none is in its changes or comment.
"""

from salt.exceptions import CommandExecutionError

__virtualname__ = "hastack_keystone"


def __virtual__():
    return __virtualname__


def service_registered(name, service_type, url, user, password_pillar, description="", project="service",
                       role="admin"):
    """
    Ensure keystone knows the service ``name`` of type ``service_type`` with
    its public, internal and admin endpoints at ``url``, and the user
    ``user`` (password from pillar key ``password_pillar``) with ``role`` on
    ``project``. A second run changes nothing; in test mode nothing is
    written and the result is None when something would change.

    .. code-block:: yaml

        placement-registered:
          hastack_keystone.service_registered:
            - name: placement
            - service_type: placement
            - url: http://10.250.0.10:8778
            - user: placement
            - password_pillar: hastack:secrets:service_placement
    """
    ret = {"name": name, "result": False, "comment": "", "changes": {}}
    test = bool(__opts__.get("test"))
    try:
        changes = __salt__["hastack_keystone.register_service"](
            name, service_type, url, user, password_pillar, description=description, project=project,
            role=role, test=test)
    except CommandExecutionError as exc:
        ret["comment"] = f"cannot register {name} in keystone: {exc}"
        return ret
    if not changes:
        ret["result"] = True
        ret["comment"] = f"{name} is registered in keystone ({url})"
        return ret
    ret["changes"] = changes
    if test:
        ret["result"] = None
        ret["comment"] = f"{name} would be registered in keystone: {', '.join(sorted(changes))}"
    else:
        ret["result"] = True
        ret["comment"] = f"{name} registered in keystone: {', '.join(sorted(changes))}"
    return ret
