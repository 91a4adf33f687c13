"""A client doing real work through the VIP: one committed row at a time.

Lab tests that break the database tier run it to count what users feel: the
rows the stack acknowledged (each must survive) and the longest gap between
two acknowledgements (the failover a user sees). Like a short-lived API worker
it opens a new connection for every commit, so HAProxy routes each one anew.
Traffic goes only to the lab's VIP, at most one commit per `interval`, and it
stops by itself after `max_seconds`.
"""

import itertools
import threading
import time

import pymysql

PROBE_USER = "keystone"
PROBE_SECRET = "db_keystone"


def prepare_probe_database(lab, host, database):
    """Create `database`.t and let the probe user write it (as root over the socket on host)."""
    lab.exec(host, ["mariadb", "-e",
                    f"CREATE DATABASE IF NOT EXISTS {database}; "
                    f"CREATE TABLE IF NOT EXISTS {database}.t (id INT AUTO_INCREMENT PRIMARY KEY, "
                    "v VARCHAR(64) NOT NULL, KEY (v)); "
                    f"SELECT CONCAT('GRANT ALL ON {database}.* TO ', QUOTE(User), '@', QUOTE(Host)) "
                    f"FROM mysql.user WHERE User = '{PROBE_USER}' INTO @grant; "
                    "PREPARE g FROM @grant; EXECUTE g;"])


def connect(lab, database, timeout=2):
    return pymysql.connect(host=lab.vip, user=PROBE_USER, password=lab.secret(PROBE_SECRET),
                           database=database, connect_timeout=timeout, read_timeout=5,
                           write_timeout=5, autocommit=False)


def writer_via_vip(lab, database="keystone", timeout=3):
    """The db host a fresh connection to VIP:3306 lands on: HAProxy's Galera writer."""
    conn = connect(lab, database, timeout=timeout)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@hostname")
            return cur.fetchone()[0]
    finally:
        conn.close()


class CommitLoad(threading.Thread):
    """Commits rows 'ack-<n>' into `database`.t through VIP:3306 until stopped."""

    def __init__(self, lab, database, interval=0.02, max_seconds=900):
        super().__init__(daemon=True)
        self.lab, self.database, self.interval = lab, database, interval
        self.deadline = time.monotonic() + max_seconds
        self.acks = []  # (monotonic time, value) of every acknowledged commit
        self.failures = 0
        self._stop_event = threading.Event()

    def run(self):
        n = 0
        while not self._stop_event.is_set() and time.monotonic() < self.deadline:
            n += 1
            value = f"ack-{n}"
            try:
                conn = connect(self.lab, self.database)
                try:
                    with conn.cursor() as cur:
                        cur.execute(f"INSERT INTO {self.database}.t (v) VALUES (%s)", (value,))
                    conn.commit()
                    self.acks.append((time.monotonic(), value))
                finally:
                    conn.close()
            except pymysql.err.MySQLError:
                self.failures += 1
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(30)

    def wait_for_acks(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.acks) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.acks)} of {count} commits acknowledged "
                                     f"({self.failures} failed) within {timeout}s")
            time.sleep(0.05)

    def acked(self):
        return {value for _, value in self.acks}

    def longest_gap(self, after=None):
        """Longest time between two acknowledged commits (those after `after` and the one before)."""
        times = [t for t, _ in self.acks]
        gaps = [b - a for a, b in itertools.pairwise(times) if after is None or b >= after]
        return round(max(gaps), 2) if gaps else None


def missing_rows(lab, database, values):
    """The values of `values` that the stack no longer has (read through the VIP)."""
    conn = connect(lab, database, timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT v FROM {database}.t")
            present = {row[0] for row in cur.fetchall()}
    finally:
        conn.close()
    return set(values) - present
