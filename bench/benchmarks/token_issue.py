"""token_issue: keystone tokens per second through the VIP, several clients at once.

CLIENTS threads each issue admin tokens (POST /v3/auth/tokens, a new
connection per request, the client of tests/keystone_load.py) through
VIP:5000 for SECONDS; the figure is issued tokens per second, and every
request that failed is counted (must be 0). Side by side, the same clients
against one keystone host directly (no HAProxy, one host's workers): what the
load balancer and the other api hosts add.
"""

import time

import keystone_load
from common import log

ORDER = 45
CHEAP = True
UNIT = "tokens/s"
TITLE = "token_issue: keystone tokens per second through the VIP (4 clients)"
CLIENTS = 4
SECONDS = 15


def _rate(lab, url):
    """(tokens per second, failed requests) of CLIENTS clients against url for SECONDS."""
    clients = [keystone_load.TokenLoad(lab, interval=0, max_seconds=SECONDS, url=url) for _ in range(CLIENTS)]
    started = time.monotonic()
    for client in clients:
        client.start()
    for client in clients:
        client.join(SECONDS + 30)
    elapsed = time.monotonic() - started
    issued = sum(len(c.issued) for c in clients)
    return round(issued / elapsed, 1), sum(len(c.failures) for c in clients)


def run(lab, runs):
    api = [h for h in lab.hosts if "api" in lab.roles_of(h)]
    values, peer, failed = [], [], []
    for i in range(runs):
        rate, failures = _rate(lab, keystone_load.keystone_url(lab))
        values.append(rate)
        failed.append(failures)
        one, _ = _rate(lab, keystone_load.keystone_url(lab, lab.host_ip(api[0])))
        peer.append(one)
        log(f"[token_issue] run {i + 1}: {rate}/s through the VIP ({failures} failed), {one}/s on {api[0]} alone")
    return {"runs": values, "failed": failed, "clients": CLIENTS, "seconds": SECONDS,
            "peer": {"name": "one keystone host, no HAProxy", "runs": peer}}
