"""vip_failover: what a client of the VIP feels when the VIP holder's keepalived, HAProxy or link dies.

A probe logs in to MariaDB through VIP:3306 every 20 ms (the probe user of
tests/commit_load.py, a new connection each time): a real request that
succeeds or not. For each failure (kill -9 keepalived on the holder, kill -9 HAProxy on
the holder, its link cut) the gap is the time from the last success before
to the first success after (the longest such gap after the failure). The holder is restored between failures
(`state.apply` of the tier on it, or its link back up).

Side by side: keepalived `advert_int 1`, the common default (keepalived's own,
and kolla-ansible's and openstack-ansible's), set through the pillar and
applied to every lb host; hastack's own advert_int is read from the formula.
The figure (runs) is the worst of the three gaps of each run.
"""

import threading
import time

import commit_load
import pymysql
from common import formula_config, log, ok_apply, summary, wait_for

from hastack_lab.lab import vip_holders

ORDER = 40
CHEAP = False
UNIT = "s"
TITLE = "vip_failover: worst VIP gap (kill keepalived / kill haproxy / link down on the holder)"
PEER_SETTINGS = {"keepalived": {"advert_int": 1}}
CASES = ("kill_keepalived", "kill_haproxy", "link_down")


class Probe(threading.Thread):
    """A MariaDB login through VIP:3306 every interval (a full handshake, then a clean quit)."""

    def __init__(self, lab, interval=0.02, timeout=0.5, max_seconds=600):
        super().__init__(daemon=True)
        self.lab, self.interval, self.timeout = lab, interval, timeout
        self.password = lab.secret(commit_load.PROBE_SECRET)
        self.deadline = time.monotonic() + max_seconds
        self.ok = []
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set() and time.monotonic() < self.deadline:
            try:
                # A half-open probe (connect, read the greeting, drop) would count as a
                # connection error on the server and get HAProxy's address blocked.
                conn = pymysql.connect(host=self.lab.vip, user=commit_load.PROBE_USER, password=self.password,
                                       connect_timeout=self.timeout, read_timeout=self.timeout)
                conn.close()
                self.ok.append(time.monotonic())
            except (pymysql.err.MySQLError, OSError):
                pass
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(10)

    def longest_gap(self, after):
        """Longest time between two successes from the last one before `after` on.

        The failure happens some time after `after` (the kill goes through
        nsenter), so the gap is the longest one, not the one around `after`.
        """
        times = [t for t in self.ok if t > after]
        before = [t for t in self.ok if t <= after]
        if before:
            times.insert(0, before[-1])
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        return round(max(gaps), 3) if gaps else None


def single_holder(lab):
    holders = vip_holders(lab)
    return holders[0] if len(holders) == 1 else None


def galera_backends_up(lab):
    views = lab.salt("-L", ",".join(lab.hosts), "hastack_haproxy.servers", "galera")
    return len(views) == len(lab.hosts) and all(
        isinstance(rows, list) and rows and all(r["status"] == "UP" for r in rows) for rows in views.values())


def settle(lab):
    wait_for(lambda: single_holder(lab), 60, "a single VIP holder")
    wait_for(lambda: galera_backends_up(lab), 180, "every Galera server UP on every HAProxy", interval=1)


def one_case(lab, case):
    settle(lab)
    holder = single_holder(lab)
    probe = Probe(lab)
    probe.start()
    try:
        wait_for(lambda: len(probe.ok) >= 10, 20, "the probe to succeed through the VIP", interval=0.05)
        moment = time.monotonic()
        if case == "kill_keepalived":
            lab.crash(holder, "keepalived")
        elif case == "kill_haproxy":
            lab.crash(holder, "haproxy")
        else:
            lab.set_link(holder, up=False)
        done = time.monotonic()  # the failure has happened by now
        try:
            wait_for(lambda: [t for t in probe.ok if t > done], 30, "a success after the failure", interval=0.05)
            time.sleep(1)
        finally:
            if case == "link_down":
                lab.set_link(holder, up=True)
    finally:
        probe.stop()
    gap = probe.longest_gap(moment)
    log(f"[vip_failover] {case} on {holder}: gap {gap}s")
    if case == "kill_keepalived":
        ok_apply(lab, holder, "hastack.keepalived")
    elif case == "kill_haproxy":
        ok_apply(lab, holder, "hastack.haproxy")
    return gap


def measure(lab, runs):
    per_case = {case: [] for case in CASES}
    worst = []
    for i in range(runs):
        gaps = []
        for case in CASES:
            gap = one_case(lab, case)
            per_case[case].append(gap)
            gaps.append(gap)
        worst.append(max((g for g in gaps if g is not None), default=None))
        log(f"[vip_failover] run {i + 1}: worst {worst[-1]}s")
    settle(lab)
    return worst, {case: dict(runs=values, **summary(values)) for case, values in per_case.items()}


def set_settings(lab, override):
    lab.set_pillar_override(override)
    ok_apply(lab, ",".join(lab.hosts), "hastack.keepalived", tgt_type="list")
    settle(lab)


def run(lab, runs):
    ours = formula_config()["keepalived"]
    hastack_settings = {"advert_int": ours["advert_int"]}
    worst, cases = measure(lab, runs)
    log(f"[vip_failover] peer: {PEER_SETTINGS}")
    set_settings(lab, {"hastack": PEER_SETTINGS})
    try:
        peer_worst, peer_cases = measure(lab, runs)
    finally:
        set_settings(lab, None)
    for case in CASES:
        cases[case]["peer"] = peer_cases[case]
    return {"runs": worst, "settings": hastack_settings, "cases": cases,
            "peer": {"name": "advert_int 1 (keepalived default)", "settings": PEER_SETTINGS["keepalived"],
                     "runs": peer_worst}}
