#!/usr/bin/python3
# Managed by Salt (hastack formula).
"""Galera health endpoint for HAProxy's `option httpchk`.

Answers every GET with 200 when this MariaDB node is Synced
(wsrep_local_state = 4), wsrep_ready = ON and in the Primary component, and
with 503 otherwise (also when the server is down). It queries the server with
the `mariadb` client through the unix socket as a database user that
authenticates by its OS user (unix_socket), so no password is stored anywhere.
"""

import argparse
import http.server
import subprocess

QUERY = ("SHOW GLOBAL STATUS WHERE Variable_name IN "
         "('wsrep_local_state', 'wsrep_local_state_comment', 'wsrep_ready', 'wsrep_cluster_status')")


def wsrep_status(args):
    proc = subprocess.run(
        [args.client, "--no-defaults", "--protocol=socket", f"--socket={args.socket}",
         f"--user={args.db_user}", "--connect-timeout=2", "-N", "-B", "-e", QUERY],
        capture_output=True, text=True, timeout=args.timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"mariadb client exited with {proc.returncode}")
    status = {}
    for line in proc.stdout.splitlines():
        name, _, value = line.partition("\t")
        status[name.strip().lower()] = value.strip()
    return status


def verdict(status):
    healthy = (status.get("wsrep_local_state") == "4"
               and status.get("wsrep_ready", "").upper() == "ON"
               and status.get("wsrep_cluster_status") == "Primary")
    text = (f"state={status.get('wsrep_local_state_comment', '?')} "
            f"ready={status.get('wsrep_ready', '?')} "
            f"cluster_status={status.get('wsrep_cluster_status', '?')}")
    return healthy, text


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "hastack-galera-health/1"

    def _answer(self, send_body):
        try:
            healthy, text = verdict(wsrep_status(self.server.args))
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            healthy, text = False, f"cannot query MariaDB: {exc}"
        body = (("Galera node is synced: " if healthy else "Galera node is not synced: ")
                + text + "\n").encode()
        self.send_response(200 if healthy else 503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server naming)
        self._answer(True)

    def do_OPTIONS(self):  # noqa: N802
        self._answer(True)

    def do_HEAD(self):  # noqa: N802
        self._answer(False)

    def log_message(self, *_args):
        # HAProxy checks every few seconds: no access log.
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--socket", default="/run/mysqld/mysqld.sock")
    parser.add_argument("--db-user", required=True)
    parser.add_argument("--client", default="/usr/bin/mariadb")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    server.args = args
    server.serve_forever()


if __name__ == "__main__":
    main()
