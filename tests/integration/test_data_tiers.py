"""Galera, garbd and RabbitMQ on the hosts that carry them."""

import json
import shlex

import pytest
from helpers import http_status, listeners, listens


def wsrep(host, mapdata):
    out = host.check_output(f"mariadb --socket={shlex.quote(mapdata['galera']['socket'])} -N -B "
                            "-e \"SHOW GLOBAL STATUS LIKE 'wsrep_%'\"")
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


@pytest.mark.tier("galera")
def test_galera_member_is_synced_in_a_primary_component(host, mapdata):
    status = wsrep(host, mapdata)
    assert status.get("wsrep_local_state_comment") == "Synced", status.get("wsrep_local_state_comment")
    assert status.get("wsrep_cluster_status") == "Primary"
    # Every db host, plus garbd where the layout has one: an odd number of voters.
    size = int(status.get("wsrep_cluster_size", 0))
    assert size >= len(mapdata["galera"]["members"]) and size % 2 == 1, (size, mapdata["galera"]["members"])


@pytest.mark.tier("galera")
def test_galera_binds_the_stack_ip_and_its_health_endpoint_says_synced(host, mapdata):
    galera, ip = mapdata["galera"], mapdata["my_ip"]
    # HAProxy may hold VIP:3306 on this host; mariadbd only the stack IP.
    assert [address for address, process in listeners(host, galera["port"]) if process == "mariadbd"] == [ip]
    assert http_status(host, f"http://{ip}:{galera['health']['port']}/") == 200


@pytest.mark.tier("galera")
def test_galera_settings_file_is_not_world_readable(host, mapdata):
    settings = host.file(mapdata["galera"]["config"])
    assert settings.exists and settings.mode & 0o007 == 0, oct(settings.mode)


@pytest.mark.tier("arbitrator")
def test_arbitrator_config_names_the_cluster_and_every_db_member(host, mapdata):
    # It holds no secret (garbd authenticates nothing): 0644 like Debian's own.
    settings = host.file(mapdata["arbitrator"]["config"])
    assert settings.exists and settings.user == "root", settings.user
    text = settings.content_string
    assert mapdata["arbitrator"]["nodes"] in text and mapdata["galera"]["cluster_name"] in text, text


@pytest.mark.tier("rabbitmq")
def test_rabbitmq_has_no_guest_and_the_openstack_user(host, mapdata):
    users = host.check_output("rabbitmqctl -q list_users").split()
    assert "guest" not in users
    assert mapdata["rabbitmq"]["openstack_user"] in users


@pytest.mark.tier("rabbitmq")
def test_rabbitmq_cookie_is_0400_and_the_brokers_own(host, mapdata):
    cookie = host.file(mapdata["rabbitmq"]["cookie_file"])
    assert cookie.mode == 0o400 and cookie.user == mapdata["rabbitmq"]["user"], (oct(cookie.mode), cookie.user)


@pytest.mark.tier("rabbitmq")
def test_rabbitmq_runs_in_a_cluster_of_every_mq_host(host, mapdata):
    view = json.loads(host.check_output("rabbitmqctl -q cluster_status --formatter json"))
    assert sorted(view.get("running_nodes") or []) == sorted(mapdata["rabbitmq"]["cluster_nodes"])
    assert not view.get("partitions")
    assert listens(host, mapdata["my_ip"], mapdata["rabbitmq"]["amqp_port"])
