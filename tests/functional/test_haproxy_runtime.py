"""hastack_haproxy against a real haproxy process on loopback (no lab needed)."""

import socket
import subprocess
import threading
import time

import pytest
from saltmod_loader import load_salt_module

haproxy_mod = load_salt_module("_modules", "hastack_haproxy")

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NameServer(threading.Thread):
    """A TCP server that answers every connection with its name."""

    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_bytes = name.encode()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                conn.sendall(self.name_bytes)
            except OSError:
                pass
            self.held.append(conn)


@pytest.fixture(scope="module")
def haproxy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("haproxy")
    servers = {name: NameServer(name) for name in ("a", "b")}
    for server in servers.values():
        server.start()
    front = free_port()
    sock = tmp / "admin.sock"
    cfg = tmp / "haproxy.cfg"
    cfg.write_text(f"""
global
    stats socket {sock} mode 600 level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
listen app
    bind 127.0.0.1:{front}
    balance roundrobin
    default-server inter 200 rise 1 fall 1
    server a 127.0.0.1:{servers['a'].port} check
    server b 127.0.0.1:{servers['b'].port} check
listen other
    bind 127.0.0.1:{free_port()}
    default-server inter 200 rise 1 fall 1
    server a 127.0.0.1:{servers['a'].port} check
    server b 127.0.0.1:{servers['b'].port} check
""")
    subprocess.run(["haproxy", "-c", "-f", str(cfg)], check=True, capture_output=True)
    proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() or not all(
                haproxy_mod.is_up(r) for r in haproxy_mod.servers(sock=str(sock))):
            assert time.monotonic() < deadline, "haproxy did not come up"
            time.sleep(0.1)
        yield {"port": front, "sock": str(sock), "servers": servers}
    finally:
        proc.terminate()
        proc.wait(10)


def who_answers(port, count=8):
    names = []
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
            names.append(conn.recv(16).decode())
    return names


def test_servers_lists_real_state(haproxy):
    rows = haproxy_mod.servers(sock=haproxy["sock"])
    assert {(r["backend"], r["server"]) for r in rows} == {("app", "a"), ("app", "b"), ("other", "a"), ("other", "b")}
    assert all(r["status"] == "UP" for r in rows)


def test_drain_stops_new_connections_and_ready_restores_them(haproxy):
    assert set(who_answers(haproxy["port"])) == {"a", "b"}
    assert haproxy_mod.drain_host("a", sock=haproxy["sock"]) == ["app", "other"]
    state = {r["server"]: r["status"] for r in haproxy_mod.servers("app", sock=haproxy["sock"])}
    assert state == {"a": "DRAIN", "b": "UP"}
    assert set(who_answers(haproxy["port"])) == {"b"}
    assert haproxy_mod.ready_host("a", sock=haproxy["sock"]) == ["app", "other"]
    assert haproxy_mod.wait_up("a", backend="app", timeout=5, sock=haproxy["sock"]) >= 0
    assert set(who_answers(haproxy["port"])) == {"a", "b"}


def test_wait_drained_waits_for_open_sessions(haproxy):
    server_a = haproxy["servers"]["a"]
    clients = []
    while not server_a.held or len(clients) < 2:
        clients.append(socket.create_connection(("127.0.0.1", haproxy["port"]), timeout=3))
        clients[-1].recv(16)
    haproxy_mod.drain("app", "a", sock=haproxy["sock"])
    with pytest.raises(haproxy_mod.CommandExecutionError, match="still has sessions"):
        haproxy_mod.wait_drained("a", backend="app", timeout=0.5, sock=haproxy["sock"])
    for conn in clients + server_a.held:
        conn.close()
    server_a.held.clear()
    assert haproxy_mod.wait_drained("a", backend="app", timeout=10, sock=haproxy["sock"]) <= 10
    haproxy_mod.ready("app", "a", sock=haproxy["sock"])


def test_wait_drained_closes_what_outlives_the_grace(haproxy):
    # A client that never lets go (a database connection pool) is closed after the grace.
    server_a = haproxy["servers"]["a"]
    clients = []
    while not server_a.held:
        clients.append(socket.create_connection(("127.0.0.1", haproxy["port"]), timeout=3))
        clients[-1].recv(16)
    haproxy_mod.drain("app", "a", sock=haproxy["sock"])
    try:
        waited = haproxy_mod.wait_drained("a", backend="app", timeout=10, close_after=0.5, sock=haproxy["sock"])
        assert 0.5 <= waited < 10
        assert [r["sessions"] for r in haproxy_mod.servers("app", haproxy["sock"]) if r["server"] == "a"] == [0]
    finally:
        for conn in clients + server_a.held:
            conn.close()
        server_a.held.clear()
        haproxy_mod.ready("app", "a", sock=haproxy["sock"])


def test_take_out_and_put_back_touch_only_the_named_backends(haproxy):
    sock = haproxy["sock"]

    def status():
        return {(r["backend"], r["server"]): r["status"] for r in haproxy_mod.servers(sock=sock)}
    out = haproxy_mod.take_out("a", backends=["app"], timeout=5, sock=sock)
    assert out["backends"] == ["app"]
    assert status() == {("app", "a"): "DRAIN", ("app", "b"): "UP", ("other", "a"): "UP", ("other", "b"): "UP"}
    assert set(who_answers(haproxy["port"])) == {"b"}
    back = haproxy_mod.put_back("a", backends="app", timeout=5, sock=sock)
    assert back["backends"] == ["app"]
    assert set(status().values()) == {"UP"}
    assert haproxy_mod.take_out("a", backends=["nosuch"], timeout=5, sock=sock)["backends"] == []
    assert set(status().values()) == {"UP"}


def test_put_back_of_a_server_nobody_took_out_waits_for_the_named_backends_only(haproxy):
    # A first deploy puts a host back that was never drained: its backends of
    # tiers not deployed yet are DOWN, and must not hold up this tier's step.
    sock = haproxy["sock"]
    haproxy_mod.drain_host("a", sock=sock)  # a record of an earlier drain...
    haproxy_mod.put_back("a", timeout=5, sock=sock)  # ...is used up by its put_back
    haproxy_mod.command("set server other/a state maint", sock)
    try:
        back = haproxy_mod.put_back("a", backends="app", timeout=3, sock=sock)
        assert back["backends"] == ["app"]
        with pytest.raises(haproxy_mod.CommandExecutionError, match="other=MAINT"):
            haproxy_mod.wait_up("a", timeout=1, sock=sock)
    finally:
        haproxy_mod.ready("other", "a", sock=sock)
    assert haproxy_mod.wait_up("a", timeout=5, sock=sock) >= 0


def test_unknown_server_is_a_clear_error(haproxy):
    with pytest.raises(haproxy_mod.CommandExecutionError, match="app/nosuch"):
        haproxy_mod.drain("app", "nosuch", sock=haproxy["sock"])


def test_skip_stopped_passes_over_a_host_without_haproxy_and_only_then(haproxy, tmp_path):
    # A healer bringing one host back must not fail on a load balancer that is
    # itself down; a killed HAProxy leaves its socket file behind.
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))
    for sock in (str(tmp_path / "absent.sock"), str(stale)):
        assert haproxy_mod.listening(sock) is False
        assert haproxy_mod.drain_host("a", sock=sock, skip_stopped=True) == haproxy_mod.NOT_RUNNING
        assert haproxy_mod.ready_host("a", sock=sock, skip_stopped=True) == haproxy_mod.NOT_RUNNING
        assert haproxy_mod.wait_up("a", timeout=1, sock=sock, skip_stopped=True) == haproxy_mod.NOT_RUNNING
        with pytest.raises(haproxy_mod.CommandExecutionError, match="admin socket"):
            haproxy_mod.ready_host("a", sock=sock)
    # Where HAProxy runs, skip_stopped changes nothing.
    assert haproxy_mod.listening(haproxy["sock"]) is True
    assert haproxy_mod.ready_host("a", sock=haproxy["sock"], skip_stopped=True) == ["app", "other"]
