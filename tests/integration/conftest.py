"""Host checks of a deployed stack host, for testinfra.

One set of checks, two runners: `hastack-lab verify` runs them inside every lab
host (testinfra's local backend), Test Kitchen's verifier against its instance
(kitchen.yml). What a host should carry is not written here: it comes from the
host's own Salt (`hastack.mapdata`: its roles, tiers, addresses, the tier
blocks' services and HAProxy backends), so the checks follow the pillar.

Environment:
    HASTACK_SALT_CALL   the salt-call command line on the host (default: salt-call)

Each check module names the tier it checks (`pytestmark = pytest.mark.tier(...)`);
the checks of tiers the host does not carry are deselected, never skipped, and
a host with nothing to check is an error.
"""

import json
import os
import shlex

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "tier(name): checks of one tier; run where the host carries it")


def _salt_call():
    return " ".join(shlex.quote(w) for w in shlex.split(os.environ.get("HASTACK_SALT_CALL", "salt-call")))


def host_mapdata(config):
    """The checked host's `hastack.mapdata`, asked once per run (before the tests
    are chosen). One host per run: each host's checks follow its own data."""
    cached = getattr(config, "_hastack_mapdata", None)
    if cached is None:
        import testinfra

        hosts = (config.getoption("hosts") or "local://").split(",")
        if len(hosts) != 1:
            raise pytest.UsageError("check one host per run (--hosts with one host)")
        # The same connection the `host` fixture gets (testinfra's options).
        host = testinfra.get_host(hosts[0], connection=config.getoption("connection"),
                                  ssh_config=config.getoption("ssh_config"),
                                  ssh_identity_file=config.getoption("ssh_identity_file"),
                                  sudo=config.getoption("sudo"), sudo_user=config.getoption("sudo_user"))
        cached = json.loads(host.check_output(f"{_salt_call()} --out=json hastack.mapdata"))["local"]
        config._hastack_mapdata = cached
    return cached


@pytest.fixture(scope="session")
def mapdata(request):
    """This host's merged settings and derived facts, from its own Salt (secrets masked)."""
    return host_mapdata(request.config)


def _carried_tiers(config):
    return set(host_mapdata(config).get("my_tiers") or []) | {"common"}


def pytest_collection_modifyitems(config, items):
    tiers = _carried_tiers(config)
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("tier")
        (keep if marker is None or marker.args[0] in tiers else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    return f"hastack tiers on this host: {', '.join(sorted(_carried_tiers(config)))}"
