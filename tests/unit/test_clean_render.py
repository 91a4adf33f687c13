"""
hastack.clean rendered for several layouts: the clean states of the minion's
tiers in reverse tier order, then common's; packages and the Galera datadir
only when hastack:clean says so.
"""

import copy

import pytest
from test_galera_render import SECRETS, show_sls  # noqa: F401 (fixture)
from test_map_render import CONVERGED, SPLIT

MORE_SECRETS = {name: f"{name}-0123456789abcdef"
                for name in ("keepalived_auth", "haproxy_stats", "rabbit_cookie", "rabbit_openstack")}


def pillar(layout, **clean):
    hastack = copy.deepcopy(layout)
    hastack["secrets"] = dict(SECRETS, **MORE_SECRETS)
    if clean:
        hastack["clean"] = clean
    return {"hastack": hastack}


def sls_order(high):
    """The sls files of the rendered states, in run order, each once."""
    seen = []
    for body in sorted(high.values(), key=lambda body: body["args"]["order"]):
        if body["sls"] not in seen:
            seen.append(body["sls"])
    return seen


@pytest.fixture
def clean(show_sls):  # noqa: F811
    def _clean(layout, minion_id, **flags):
        return show_sls("hastack.clean", pillar(layout, **flags), minion_id=minion_id)
    return _clean


def test_converged_host_cleans_its_tiers_in_reverse_then_common(clean):
    high = clean(CONVERGED, "ctl3")
    # The reverse of the deploy order: galera, haproxy, keepalived, memcached, rabbitmq, keystone,
    # horizon, placement, nova.
    assert sls_order(high) == ["hastack.validate", "hastack.beacons.clean", "hastack.nova.clean",
                               "hastack.placement.clean", "hastack.horizon.clean", "hastack.keystone.clean",
                               "hastack.rabbitmq.clean", "hastack.memcached.clean",
                               "hastack.keepalived.clean", "hastack.haproxy.clean",
                               "hastack.galera.clean", "hastack.common.clean"]
    functions = {sid: body["function"] for sid, body in high.items()}
    # Services stop, configs go; nothing else by default.
    assert "pkg" not in functions.values()
    assert "hastack-galera-clean-datadir-emptied" not in high
    assert functions["hastack-galera-clean-service-dead"] == "service"
    # Stopped, not disabled: a later apply could not enable a sysvinit service without insserv.
    dead = [body["args"] for body in high.values() if body["function"] == "service"]
    assert len(dead) == 13 and not [args for args in dead if "enable" in args]
    assert high["hastack-keepalived-clean-service-dead"]["args"]["sig"] == "/usr/sbin/keepalived"
    assert high["hastack-haproxy-clean-service-dead"]["args"]["sig"] == "/usr/sbin/haproxy"
    assert high["hastack-rabbitmq-clean-service-dead"]["args"]["sig"] == "-s rabbit boot"
    hosts = high["hastack-common-clean-hosts-ctl1-absent"]["args"]
    assert (hosts["names"], hosts["ip"]) == (["ctl1"], "10.250.0.11")
    # The auto-heal's beacons go before any service stops, from beacons.conf too.
    beacons = {sid: body for sid, body in high.items() if body["sls"] == "hastack.beacons.clean"}
    assert sorted(beacons) == ["hastack-beacons-clean-hastack_galera-absent",
                               "hastack-beacons-clean-hastack_rabbitmq-absent", "hastack-beacons-clean-service-absent"]
    assert {(body["function"], body["args"]["save"]) for body in beacons.values()} == {("beacon", True)}


def test_arbitrator_host_cleans_only_garbd_and_common(clean):
    high = clean(SPLIT, "garb1")
    assert sls_order(high) == ["hastack.validate", "hastack.beacons.clean", "hastack.arbitrator.clean",
                               "hastack.common.clean"]


def test_data_and_packages_go_only_when_asked(clean):
    high = clean(CONVERGED, "ctl1", remove_packages=True, remove_galera_datadir=True)
    emptied = high["hastack-galera-clean-datadir-emptied"]["args"]
    assert emptied["name"] == "/var/lib/mysql" and emptied["clean"] is True
    removed = {sid for sid, body in high.items() if body["function"] == "pkg"}
    assert removed == {f"hastack-{t}-clean-package-removed"
                       for t in ("memcached", "rabbitmq", "keepalived", "haproxy", "keystone", "horizon",
                                 "placement", "nova")}
