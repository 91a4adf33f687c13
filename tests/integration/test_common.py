"""Every stack host: the services of each tier it carries run, and its peers' names resolve."""

import ipaddress

import pytest
from helpers import service_running


def test_every_service_of_the_hosts_tiers_runs(host, mapdata):
    watch = mapdata["watch"]
    expected = {(tier, service) for tier in mapdata["my_tiers"] for service in watch[tier]["services"]}
    assert expected, f"no service to check on {mapdata['minion_id']}"
    down = sorted((tier, service) for tier, service in expected
                  if not service_running(host, service, watch[tier]["processes"]))
    assert down == [], f"not running (tier, service): {down}"


def test_etc_hosts_names_every_stack_host_with_a_stack_ip(host, mapdata):
    if not mapdata["common"]["manage_etc_hosts"]:
        pytest.fail("hastack:common:manage_etc_hosts is off: nothing to check here, remove it from the suite")
    network = ipaddress.ip_network(mapdata["network"]["cidr"])
    names = {}
    for line in host.file("/etc/hosts").content_string.splitlines():
        fields = line.split("#", 1)[0].split()
        for name in fields[1:]:
            names.setdefault(name, fields[0])
    for aliases in mapdata["host_names"].values():
        for name in aliases:
            assert name in names, f"{name} missing from /etc/hosts"
            assert ipaddress.ip_address(names[name]) in network, (name, names[name])
    assert names[mapdata["minion_id"]] == mapdata["my_ip"]
