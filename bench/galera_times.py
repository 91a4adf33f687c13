#!/usr/bin/env python3
"""Measure the Galera tier's timings on a fresh lab and print them as JSON.

    ./tests/run is not needed: run with the lab's venv Python, as root:
    .venv/bin/python bench/galera_times.py [--name hsbench] [--subnet 10.254.0.0/24] [--keep]

Brings a fresh lab up, deploys, then measures:
  bootstrap_to_synced / join_to_synced  seconds from start to Synced, per node,
                                        as the state reports it (fresh deploy:
                                        bootstrap, then SST joins one at a time)
  deploy_galera_steps                   wall time of each deploy step (whole sls)
  ist_rejoin                            kill -9 of one node's MariaDB, rows
                                        written meanwhile, state.apply on it
  full_recovery                         kill -9 of MariaDB on every db host,
                                        then `state.orch hastack.galera.recover`
The lab is torn down at the end unless --keep.
"""

import argparse
import json
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lab"))

from hastack_lab import Lab  # noqa: E402


def crash(lab, host):
    """kill -9 MariaDB on host: mysqld_safe too, or it would restart mariadbd by itself."""
    lab.crash(host, "mysqld_safe", "mariadbd")


def synced_seconds(step):
    """{minion: seconds_to_synced} from a salt.state step of the orchestration."""
    found = {}
    for minion, states in (step["raw"].get("changes", {}).get("ret") or {}).items():
        for ret in (states or {}).values():
            if isinstance(ret, dict) and "seconds_to_synced" in (ret.get("changes") or {}):
                found[minion] = ret["changes"]["seconds_to_synced"]
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="hsbench")
    parser.add_argument("--subnet", default="10.254.0.0/24")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    lab = Lab(name=args.name, subnet=args.subnet, host_count=3, say=lambda m: print(m, file=sys.stderr))
    times = {}
    try:
        lab.up(deploy=False)
        lab.salt_run("saltutil.sync_all")
        result = lab.orchestrate("hastack.deploy")
        if not result["ok"]:
            raise SystemExit("deploy failed: " + "; ".join(result["errors"]))
        galera_steps = [s for s in result["steps"]
                    if s["id"].startswith("hastack-deploy-galera-") and s["id"].endswith("-applied")]
        times["deploy_galera_steps"] = {s["id"]: round(s["duration_ms"] / 1000, 1) for s in galera_steps}
        synced = {}
        for step in galera_steps:
            synced.update(synced_seconds(step))
        first = galera_steps[0]["id"].split("-")[3]
        times["bootstrap_to_synced"] = synced.get(first)
        times["join_to_synced"] = {m: s for m, s in synced.items() if m != first}

        host = lab.hosts[-1]
        crash(lab, host)
        lab.exec(lab.hosts[0], ["mariadb", "-e", "CREATE DATABASE IF NOT EXISTS bench; "
                                "CREATE TABLE IF NOT EXISTS bench.t (id INT AUTO_INCREMENT PRIMARY KEY); "
                                + "INSERT INTO bench.t VALUES ();" * 100])
        started = time.monotonic()
        rows = lab.apply(host, "hastack.galera.service")
        times["ist_rejoin"] = round(time.monotonic() - started, 1)
        times["ist_rejoin_to_synced"] = next(
            (r["changes"].get("seconds_to_synced") for r in rows if r["changes"]), None)

        for member in lab.hosts:
            crash(lab, member)
        started = time.monotonic()
        recovered = lab.orchestrate("hastack.galera.recover")
        times["full_recovery"] = round(time.monotonic() - started, 1)
        times["full_recovery_ok"] = recovered["ok"]
        times["full_recovery_steps"] = {s["id"]: round(s["duration_ms"] / 1000, 1)
                                        for s in recovered["steps"]}
    finally:
        if not args.keep:
            lab.down()
    print(json.dumps(times, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
