"""api_rollout: `salt-run state.orch hastack.rollout` under a token-issue loop.

The rollout re-applies every api host one at a time, drained from its API
backends first, with a config change to carry (one more uwsgi thread for
keystone, through the lab's pillar override), so every keystone restarts.
Measured per run: the rollout's duration, the token requests that failed
(must be 0) and the longest gap between two issued tokens. The override is
removed and rolled out again afterwards (not timed).
"""

import time

import keystone_load
from common import log

ORDER = 46
CHEAP = False
UNIT = "s"
TITLE = "api_rollout: hastack.rollout of every api host under a token loop"


def run(lab, runs):
    values, failed, gaps = [], [], []
    for i in range(runs):
        lab.set_pillar_override({"hastack": {"keystone": {"uwsgi": {"threads": 9 + i}}}})
        load = keystone_load.TokenLoad(lab, interval=0.05, max_seconds=900)
        load.start()
        try:
            load.wait_for_tokens(10)
            started = time.monotonic()
            result = lab.orchestrate("hastack.rollout", timeout=900)
            values.append(round(time.monotonic() - started, 1))
        finally:
            load.stop()
        if not result["ok"]:
            raise RuntimeError(f"rollout failed: {result['errors'][:2]}")
        failed.append(len(load.failures))
        gaps.append(load.longest_gap())
        log(f"[api_rollout] run {i + 1}: {values[-1]}s, {failed[-1]} failed requests, longest gap {gaps[-1]}s")
    lab.set_pillar_override(None)
    if not lab.orchestrate("hastack.rollout", timeout=900)["ok"]:
        raise RuntimeError("rolling back to the deployed setting failed")
    return {"runs": values, "failed": failed, "longest_gap_s": gaps, "peer": None,
            "peer_note": "no peer setting applies: a procedure of the formula itself, nothing to set side by side"}
