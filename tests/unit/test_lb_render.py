"""haproxy.cfg and keepalived.conf as the formula renders them, checked by the daemons themselves."""

import pathlib
import subprocess

import jinja2
import pytest
from test_map_render import CONVERGED, SPLIT, defaults, render, repo_root_module  # noqa: F401  (fixtures)

REPO = pathlib.Path(__file__).resolve().parents[2]
SECRETS = {"haproxy_stats": "s" * 24, "keepalived_auth": "k" * 24}


def layout(base, **extra):
    hastack = dict(base, secrets=SECRETS, keepalived={"interface": "eth0"}, tiers={})
    for key, value in extra.items():
        hastack[key] = {**hastack.get(key, {}), **value}
    return {"hastack": hastack}


def render_file(template, **context):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(REPO / "hastack")), undefined=jinja2.StrictUndefined,
                         keep_trailing_newline=True)
    return env.get_template(template).render(**context)


def haproxy_cfg(mapdata):
    return render_file("haproxy/files/haproxy.cfg.jinja", haproxy=mapdata["haproxy"], vip=mapdata["network"]["vip"],
                       bind_ip=mapdata["my_ip"], stats_password=mapdata["secrets"]["haproxy_stats"])


def keepalived_conf(mapdata):
    return render_file("keepalived/files/keepalived.conf.jinja", keepalived=mapdata["keepalived"],
                       minion_id=mapdata["minion_id"], bind_ip=mapdata["my_ip"])


def daemon_accepts(tmp_path, name, text, cmd):
    path = tmp_path / name
    path.write_text(text)
    proc = subprocess.run([*cmd, str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, f"{cmd[0]} rejects the rendered {name}:\n{proc.stdout}{proc.stderr}\n{text}"


def listen_block(cfg, name):
    lines = cfg.split(f"\nlisten {name}\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in lines.splitlines()]


@pytest.mark.parametrize("base, minion, writer, backups, peers, priority", [
    (CONVERGED, "ctl1", "ctl1", ["ctl2", "ctl3"], ["10.250.0.12", "10.250.0.13"], 150),
    (CONVERGED, "ctl3", "ctl1", ["ctl2", "ctl3"], ["10.250.0.11", "10.250.0.12"], 130),
    (SPLIT, "lb2", "db1", ["db2"], ["10.250.0.21"], 140),
])
def test_rendered_configs_are_valid_and_bind_right(render, tmp_path, base, minion, writer, backups, peers, priority):
    mapdata = render(layout(base), minion_id=minion)
    cfg = haproxy_cfg(mapdata)
    daemon_accepts(tmp_path, "haproxy.cfg", cfg, ["haproxy", "-c", "-f"])
    galera = listen_block(cfg, "galera")
    assert "bind 10.250.0.10:3306" in galera
    assert "option httpchk" in galera
    servers = [line for line in galera if line.startswith("server ")]
    assert servers[0].startswith(f"server {writer} ") and "backup" not in servers[0]
    assert [s.split()[1] for s in servers if s.endswith(" backup")] == backups
    assert all("check port 9200" in s for s in servers)
    assert "garb1" not in cfg  # an arbitrator holds no data
    # Only the VIP and the host's own stats address are bound: no wildcard.
    binds = [line.strip() for line in cfg.splitlines() if line.strip().startswith("bind ")]
    assert binds == [f"bind {mapdata['my_ip']}:1993"] + [f"bind 10.250.0.10:{port}" for port in (
        3306, 80, 5000, 8774, 8775, 8778)]
    # Keystone on the VIP, served by every api host on its stack IP.
    keystone = listen_block(cfg, "keystone")
    assert "option httpchk GET /v3" in keystone
    api = base["roles"]["api"]
    assert [line.split()[1:3] for line in keystone if line.startswith("server ")] == [
        [host, f"{base['hosts'][host]['ip']}:5000"] for host in api]
    assert "on-marked-down shutdown-sessions" in cfg
    # A request a dying server never answered is resent, to another server:
    # only possible when HAProxy holds the whole request (body included).
    assert {"retry-on conn-failure empty-response", "option http-buffer-request"} <= set(keystone)
    assert "retry-on" not in " ".join(galera)
    assert "option redispatch 1" in cfg
    assert "inter 500 fastinter 250 downinter 1000 rise 2 fall 3" in cfg
    # The OpenStack APIs and the dashboard on the VIP, each checked with its own request.
    for listener, port, check in (("placement", 8778, "GET /"), ("nova", 8774, "GET /"),
                                  ("nova_metadata", 8775, "GET /"), ("horizon", 80, "GET /")):
        block = listen_block(cfg, listener)
        assert f"option httpchk {check}" in block and "mode http" in block
        assert [line.split()[1:3] for line in block if line.startswith("server ")] == [
            [host, f"{base['hosts'][host]['ip']}:{port}"]
            for host in base["roles"]["dashboard" if listener == "horizon" else "api"]]
    # A refused host name (4xx) is no healthy dashboard.
    assert "http-check expect rstatus ^[23]" in listen_block(cfg, "horizon")
    # Services of tiers not deployed yet get no backend that would sit DOWN forever.
    assert "listen glance" not in cfg

    conf = keepalived_conf(mapdata)
    daemon_accepts(tmp_path, "keepalived.conf", conf, ["keepalived", "-t", "-f"])
    assert f"priority {priority}" in conf
    assert "virtual_router_id 51" in conf and "vrrp_version 3" in conf
    assert "advert_int 0.2" in conf and "authentication" not in conf
    assert "10.250.0.10/24 dev eth0" in conf
    assert mapdata["keepalived"]["peers"] == peers


def test_vrrp_v2_with_authentication_and_unicast(render, tmp_path):
    mapdata = render(layout(CONVERGED, keepalived={"advert_int": 1, "unicast": True, "vrid": 77}), minion_id="ctl2")
    conf = keepalived_conf(mapdata)
    daemon_accepts(tmp_path, "keepalived.conf", conf, ["keepalived", "-t", "-f"])
    assert "vrrp_version 2" in conf and "auth_pass kkkkkkkk" in conf
    assert "unicast_src_ip 10.250.0.12" in conf
    assert "10.250.0.11" in conf and "10.250.0.13" in conf
    assert "virtual_router_id 77" in conf


def test_all_writers_and_api_backends_once_their_tier_exists(render, tmp_path):
    # Writers and listeners are data of the tier blocks; a tier with states gets its listener.
    pillar = layout(CONVERGED, tiers={"galera": {"frontends": {"galera": {"writers": "all"}}},
                                      "keystone": {"planned": False}})
    cfg = haproxy_cfg(render(pillar, minion_id="ctl1"))
    daemon_accepts(tmp_path, "haproxy.cfg", cfg, ["haproxy", "-c", "-f"])
    assert "backup" not in cfg
    keystone = listen_block(cfg, "keystone")
    assert "bind 10.250.0.10:5000" in keystone and "option httpchk GET /v3" in keystone
    assert [line.split()[1] for line in keystone if line.startswith("server ")] == ["ctl1", "ctl2", "ctl3"]
