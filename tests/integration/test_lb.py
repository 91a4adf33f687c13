"""HAProxy and keepalived on the lb hosts; memcached on the cache hosts."""

import socket

import pytest
from helpers import http_status, listens


def haproxy_stat(host, mapdata):
    """HAProxy's `show stat` over its admin socket: [{pxname, svname, status, ...}]."""
    out = host.check_output(
        "python3 -c \"import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
        "s.sendall(b'show stat\\n'); print(b''.join(iter(lambda: s.recv(65536), b'')).decode())\" "
        + mapdata["haproxy"]["admin_socket"])
    lines = [line for line in out.splitlines() if line.strip()]
    fields = lines[0].lstrip("# ").split(",")
    return [dict(zip(fields, line.split(","), strict=False)) for line in lines[1:]]


@pytest.mark.tier("haproxy")
def test_haproxy_config_is_valid_and_not_world_readable(host, mapdata):
    config = mapdata["haproxy"]["config"]
    assert host.run(f"haproxy -c -q -f {config}").rc == 0
    cfg = host.file(config)
    assert cfg.mode & 0o007 == 0 and cfg.group == "haproxy", (oct(cfg.mode), cfg.group)


@pytest.mark.tier("haproxy")
def test_haproxy_listens_on_the_vip_for_every_backend(host, mapdata):
    vip = mapdata["network"]["vip"]
    backends = mapdata["haproxy"]["backends"]
    assert backends, "no backend: nothing is published on the VIP"
    missing = sorted(name for name, backend in backends.items() if not listens(host, vip, backend["port"]))
    assert missing == [], f"not listening on {vip}: {missing}"


@pytest.mark.tier("haproxy")
def test_every_backend_has_a_server_up(host, mapdata):
    rows = haproxy_stat(host, mapdata)
    for name in mapdata["haproxy"]["backends"]:
        servers = {r["svname"]: r["status"] for r in rows if r["pxname"] == name
                   and r["svname"] not in ("FRONTEND", "BACKEND")}
        assert any(status.startswith("UP") for status in servers.values()), f"{name}: {servers}"


@pytest.mark.tier("haproxy")
def test_the_vip_answers(host, mapdata):
    """Keystone through the VIP when there is one (else the first HTTP listener)."""
    vip = mapdata["network"]["vip"]
    backends = mapdata["haproxy"]["backends"]
    if "keystone" in backends:
        assert http_status(host, f"http://{vip}:{backends['keystone']['port']}/v3") == 200
        return
    port = next(iter(backends.values()))["port"]
    with socket.create_connection((vip, port), timeout=5):
        pass


@pytest.mark.tier("keepalived")
def test_keepalived_config_holds_its_secret_unreadable_to_others(host, mapdata):
    cfg = host.file(mapdata["keepalived"]["config"])
    assert cfg.exists and cfg.mode & 0o007 == 0 and cfg.user == "root", (oct(cfg.mode), cfg.user)


@pytest.mark.tier("memcached")
def test_memcached_listens_on_the_stack_ip_only(host, mapdata):
    port = mapdata["memcached"]["port"]
    assert listens(host, mapdata["my_ip"], port)
    assert not listens(host, "0.0.0.0", port)
