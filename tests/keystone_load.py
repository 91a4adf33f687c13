"""A client doing real work through the VIP: keystone token requests.

Lab tests and benchmarks of the API tier run it to count what users feel: the
tokens keystone issued (HTTP 201 with a token), the requests that failed
(any other answer, a reset, a timeout) and the longest gap between two issued
tokens. Each request is a new connection, so HAProxy routes each one anew.
Traffic goes only to the lab's VIP (or a host address the caller names), at
most one request per `interval`, and it stops by itself after `max_seconds`.
"""

import itertools
import json
import threading
import time
import urllib.error
import urllib.request

ADMIN_SECRET = "keystone_admin"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def keystone_url(lab, address=None, port=5000):
    return f"http://{address or lab.vip}:{port}/v3"


def _auth_body(password, user="admin", project="admin"):
    return {"auth": {
        "identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}


def issue_token(url, password, timeout=5):
    """(token id, token body) from POST <url>/auth/tokens; raises on any answer but 201."""
    request = urllib.request.Request(f"{url}/auth/tokens", data=json.dumps(_auth_body(password)).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with _OPENER.open(request, timeout=timeout) as response:
        if response.status != 201:
            raise urllib.error.HTTPError(request.full_url, response.status, "not issued", response.headers, None)
        return response.headers["X-Subject-Token"], json.loads(response.read().decode())["token"]


def validate_token(url, admin_token, token, timeout=5):
    """HTTP status of GET <url>/auth/tokens for `token` (200: valid, 404: not valid)."""
    request = urllib.request.Request(f"{url}/auth/tokens", method="GET",
                                     headers={"X-Auth-Token": admin_token, "X-Subject-Token": token})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def get(url, token, path, timeout=5):
    """JSON of GET <url><path> with `token`."""
    request = urllib.request.Request(f"{url}{path}", headers={"X-Auth-Token": token})
    with _OPENER.open(request, timeout=timeout) as response:
        return json.loads(response.read().decode())


class TokenLoad(threading.Thread):
    """Issues admin tokens through the VIP until stopped; counts issued and failed requests."""

    def __init__(self, lab, interval=0.05, max_seconds=900, url=None):
        super().__init__(daemon=True)
        self.url = url or keystone_url(lab)
        self.password = lab.secret(ADMIN_SECRET)
        self.interval = interval
        self.deadline = time.monotonic() + max_seconds
        self.issued = []   # monotonic times of issued tokens
        self.failures = []  # (monotonic time, reason)
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set() and time.monotonic() < self.deadline:
            try:
                issue_token(self.url, self.password)
                self.issued.append(time.monotonic())
            except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
                self.failures.append((time.monotonic(), repr(exc)[:200]))
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(30)

    def wait_for_tokens(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.issued) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.issued)} of {count} tokens issued "
                                     f"({len(self.failures)} failed: {self.failures[-3:]}) within {timeout}s")
            time.sleep(0.05)

    def longest_gap(self):
        gaps = [b - a for a, b in itertools.pairwise(self.issued)]
        return round(max(gaps), 2) if gaps else None
