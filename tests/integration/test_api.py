"""The OpenStack API tiers and Horizon: each answers on the host's stack IP, and
the files holding passwords are readable by root and the service's group only."""

import pytest
from helpers import http_status


def private(host, path, group):
    f = host.file(path)
    return f.exists and f.mode & 0o007 == 0 and f.group == group, (path, oct(f.mode), f.group)


@pytest.mark.tier("keystone")
def test_keystone_answers_and_keeps_its_keys_private(host, mapdata):
    keystone = mapdata["keystone"]
    assert http_status(host, f"http://{keystone['http_socket']}/v3") == 200
    ok, seen = private(host, keystone["config"], keystone["group"])
    assert ok, seen
    for repository in (keystone["fernet_tokens"]["key_repository"], keystone["credential"]["key_repository"]):
        keys = host.file(repository)
        assert keys.is_directory and keys.mode & 0o077 == 0 and keys.user == keystone["user"], repository
        assert sorted(keys.listdir()), f"{repository} is empty"


@pytest.mark.tier("placement")
def test_placement_answers_and_keeps_its_config_private(host, mapdata):
    placement = mapdata["placement"]
    assert 200 <= http_status(host, f"http://{placement['http_socket']}/") < 400
    ok, seen = private(host, placement["config"], placement["group"])
    assert ok, seen


@pytest.mark.tier("nova")
def test_nova_apis_answer_and_keep_their_config_private(host, mapdata):
    nova = mapdata["nova"]
    for name, socket in sorted(nova["http_sockets"].items()):
        assert 200 <= http_status(host, f"http://{socket}/") < 400, name
    ok, seen = private(host, nova["config"], nova["group"])
    assert ok, seen


@pytest.mark.tier("horizon")
def test_horizon_answers_and_its_secret_key_is_private(host, mapdata):
    horizon = mapdata["horizon"]
    assert 200 <= http_status(host, f"http://{horizon['listen']}/") < 400
    ok, seen = private(host, horizon["secret_key_file"], horizon["wsgi_group"])
    assert ok, seen
