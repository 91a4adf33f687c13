"""idempotent: a second `state.apply` on every host of the deployed stack; seconds and changes (must be 0)."""

import time

from common import log

ORDER = 10
CHEAP = True
UNIT = "s"
TITLE = "idempotent: second state.apply on every host"


def run(lab, runs):
    values, changes, failed, changed_ids = [], [], [], set()
    for i in range(runs):
        started = time.monotonic()
        rows = lab.apply("*")
        values.append(round(time.monotonic() - started, 1))
        changed = [f"{r['minion']}:{r['id']}" for r in rows if r["changes"]]
        changes.append(len(changed))
        failed.append(sum(1 for r in rows if r["result"] is not True))
        changed_ids.update(changed)
        log(f"[idempotent] run {i + 1}: {values[-1]}s, {len(changed)} changed, {failed[-1]} failed")
    return {"runs": values, "changes": changes, "failed": failed, "changed_ids": sorted(changed_ids),
            "states": len(rows), "peer": None,
            "peer_note": "no peer setting applies: a re-run of the formula itself, nothing to set side by side"}
