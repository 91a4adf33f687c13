#!/usr/bin/python3
# Managed by Salt (hastack formula).
"""Galera health endpoint for HAProxy's `option httpchk`.

Answers every GET with 200 when this MariaDB node is Synced
(wsrep_local_state = 4), wsrep_ready = ON and in the Primary component, and
with 503 otherwise (also when the server is down). It queries the server with
the `mariadb` client through the unix socket as a database user that
authenticates by its OS user (unix_socket), so no password is stored anywhere.

One client stays connected in batch mode and gets a query per check: HAProxy
checks every half second from every load balancer, and a client started per
check cost a tenth of a core per node. A client that exits (the server went
away) or does not answer in time is replaced at the next check.
"""

import argparse
import http.server
import os
import select
import subprocess
import threading
import time

QUERY = ("SHOW GLOBAL STATUS WHERE Variable_name IN "
         "('wsrep_local_state', 'wsrep_local_state_comment', 'wsrep_ready', 'wsrep_cluster_status')")
# Printed after each answer, so the reader knows where the answer ends.
END = "hastack-galera-health-end"


class StatusReader:
    """The wsrep status through one long-lived `mariadb` client (thread-safe)."""

    def __init__(self, args):
        self.args = args
        self.proc = None
        self.lock = threading.Lock()

    def _start(self):
        self.proc = subprocess.Popen(
            [self.args.client, "--no-defaults", "--protocol=socket", f"--socket={self.args.socket}",
             f"--user={self.args.db_user}", "--connect-timeout=2", "--batch", "--skip-column-names",
             "--unbuffered"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def _stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                stream.close()
        self.proc = None

    def _ended(self):
        """Why the client ended (it printed its error on stderr before exiting)."""
        self.proc.wait()
        error = self.proc.stderr.read().decode(errors="replace").strip()
        return error or f"mariadb client exited with {self.proc.returncode}"

    def _ask(self):
        if self.proc is None or self.proc.poll() is not None:
            self._stop()
            self._start()
        self.proc.stdin.write(f"{QUERY};\nSELECT '{END}';\n".encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + self.args.timeout
        out = self.proc.stdout.fileno()
        buffer, lines = b"", []
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                raise RuntimeError(f"no answer within {self.args.timeout} s")
            chunk = os.read(out, 65536)
            if not chunk:
                raise RuntimeError(self._ended())
            buffer += chunk
            *done, buffer = buffer.split(b"\n")
            for line in done:
                text = line.decode(errors="replace")
                if text == END:
                    return lines
                lines.append(text)

    def read(self):
        with self.lock:
            try:
                lines = self._ask()
            except (RuntimeError, OSError):
                self._stop()
                raise
        status = {}
        for line in lines:
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
            healthy, text = verdict(self.server.reader.read())
        except (RuntimeError, OSError) as exc:
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
    server.reader = StatusReader(args)
    server.serve_forever()


if __name__ == "__main__":
    main()
