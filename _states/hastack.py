"""
States of the hastack formula.

``hastack.validated`` stops a run before anything changes when the hastack
pillar is incomplete or inconsistent; it lists every problem at once.
"""

__virtualname__ = "hastack"


def __virtual__():
    return __virtualname__


def validated(name, pillar=None):
    """
    Fail when the hastack pillar (merged over the formula defaults) is invalid.
    Changes nothing, so test mode gives the same result as a real run.

    name
        Any label for the state.

    pillar
        A whole pillar dict (holding key ``hastack``) to check instead of the
        minion's pillar.

    .. code-block:: yaml

        hastack_pillar_valid:
          hastack.validated: []

        memcached:
          pkg.installed:
            - require:
              - hastack: hastack_pillar_valid
    """
    ret = {"name": name, "result": False, "comment": "", "changes": {}}
    try:
        validate = __salt__["hastack.validate"]
    except KeyError:
        ret["comment"] = "execution module hastack is not available: run saltutil.sync_modules"
        return ret

    report = validate(pillar=pillar)
    if report["valid"]:
        ret["result"] = True
        ret["comment"] = "hastack pillar is valid"
    else:
        errors = report["errors"]
        ret["comment"] = "\n".join(
            [f"hastack pillar is invalid ({len(errors)} problem(s)):"] + [f"- {error}" for error in errors]
        )
    return ret
