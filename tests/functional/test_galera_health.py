"""The Galera health endpoint's status reader and HTTP answers, against a stand-in `mariadb` client.

The stand-in speaks the client's batch protocol (a statement per line in,
tab-separated rows out) and reads what to answer from a file, so a test can
make it answer, fail or hang. The endpoint against real MariaDB is a lab test
(tests/lab/test_galera.py).
"""

import argparse
import importlib.util
import pathlib
import sys
import threading
import urllib.error
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("galera_health", REPO / "hastack/galera/files/galera-health.py")
health = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(health)

FAKE_CLIENT = """#!{python}
import os, sys, time
mode = open({mode!r}).read().strip()
if mode == "refuse":
    sys.stderr.write("ERROR 2002 (HY000): Can't connect to local server through socket\\n")
    sys.exit(1)
for line in sys.stdin:
    mode = open({mode!r}).read().strip()
    if mode == "exit":
        sys.stderr.write("ERROR 2006 (HY000): Server has gone away\\n")
        sys.exit(1)
    if mode == "hang":
        time.sleep(30)
    if line.startswith("SHOW GLOBAL STATUS"):
        state = "4\\tSynced" if mode == "synced" else "2\\tDonor/Desynced"
        local, comment = state.split("\\t")
        print(f"wsrep_local_state\\t{{local}}")
        print(f"wsrep_local_state_comment\\t{{comment}}")
        print("wsrep_ready\\tON")
        print("wsrep_cluster_status\\tPrimary")
        print(f"pid\\t{{os.getpid()}}")
    elif line.startswith("SELECT '"):
        print(line.split("'")[1])
    sys.stdout.flush()
"""


@pytest.fixture
def client(tmp_path):
    mode = tmp_path / "mode"
    mode.write_text("synced")
    script = tmp_path / "mariadb"
    script.write_text(FAKE_CLIENT.format(python=sys.executable, mode=str(mode)))
    script.chmod(0o755)
    args = argparse.Namespace(client=str(script), socket="/nonexistent", db_user="hastack-health", timeout=2.0)
    reader = health.StatusReader(args)
    yield mode, reader, args
    reader._stop()


def test_one_client_answers_every_check(client):
    _, reader, _ = client
    first, second = reader.read(), reader.read()
    assert health.verdict(first)[0] is True
    assert first["wsrep_local_state_comment"] == "Synced"
    # The same process answered both: no client started per check.
    assert first["pid"] == second["pid"]


@pytest.mark.parametrize("failures", [
    # the server went away, then cannot be reached when the client is started again
    [("exit", "gone away"), ("refuse", "Can't connect")],
    # the client does not answer in time
    [("hang", "no answer within")],
])
def test_a_failing_client_is_an_error_then_replaced(client, failures):
    mode, reader, _ = client
    before = reader.read()["pid"]
    for failure, message in failures:
        mode.write_text(failure)
        with pytest.raises(RuntimeError, match=message):
            reader.read()
    mode.write_text("synced")
    assert reader.read()["pid"] != before


def test_http_answers_follow_the_state(client):
    mode, reader, args = client
    server = health.http.server.ThreadingHTTPServer(("127.0.0.1", 0), health.Handler)
    server.daemon_threads = True
    server.reader = reader
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    def status():
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
    try:
        code, body = status()
        assert code == 200 and "state=Synced" in body
        mode.write_text("desynced")
        code, body = status()
        assert code == 503 and "Donor/Desynced" in body
        mode.write_text("exit")
        code, body = status()
        assert code == 503 and "cannot query MariaDB" in body
    finally:
        server.shutdown()
        server.server_close()
