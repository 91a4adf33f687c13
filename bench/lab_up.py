#!/usr/bin/env python3
"""Benchmark: bring a lab up with deploy, apply once, measure memory, bring it down.

Prints one JSON object on stdout; progress goes to stderr. Asserts nothing: a
state.apply that changes or fails something is reported, not judged.

Run as root with the venv (installed by the first `./lab/hastack-lab up`):

    .venv/bin/python bench/lab_up.py [--hosts N] > lab_up.json

Uses its own lab (`hsbench` on 10.254.0.0/24), so a developer's lab and the test
lab are untouched; it is always brought down, also on failure.
"""

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lab"))

from hastack_lab import Lab  # noqa: E402

LAB_NAME = "hsbench"
LAB_SUBNET = "10.254.0.0/24"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _pid_ns(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _memory_kb(pid):
    """(rss, pss) of a process in kB; (0, 0) for kernel threads or a process that is gone."""
    rss = pss = 0
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
                break
        for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
                break
    except (OSError, ValueError):
        pass
    return rss, pss


def lab_memory(lab):
    """Memory of every process in the hosts' PID namespaces plus the lab's salt-master.

    RSS counts shared pages once per process (an upper bound); PSS splits them
    between the processes sharing them, so its sum is the better total.
    """
    ns_to_host = {}
    for host, pid in lab._init_pids().items():
        ns = _pid_ns(pid)
        if ns:
            ns_to_host[ns] = host
    master_pids = set(lab._master_pids())
    groups = {host: {"processes": 0, "rss_kb": 0, "pss_kb": 0} for host in sorted(ns_to_host.values())}
    groups["salt-master"] = {"processes": 0, "rss_kb": 0, "pss_kb": 0}
    for pid in _pids():
        if pid in master_pids:
            group = groups["salt-master"]
        else:
            host = ns_to_host.get(_pid_ns(pid))
            if host is None:
                continue
            group = groups[host]
        rss, pss = _memory_kb(pid)
        group["processes"] += 1
        group["rss_kb"] += rss
        group["pss_kb"] += pss
    total_rss = sum(g["rss_kb"] for g in groups.values())
    total_pss = sum(g["pss_kb"] for g in groups.values())
    return {
        "processes": sum(g["processes"] for g in groups.values()),
        "rss_mb": round(total_rss / 1024, 1),
        "pss_mb": round(total_pss / 1024, 1),
        "by_group_mb": {name: {"processes": g["processes"],
                               "rss": round(g["rss_kb"] / 1024, 1),
                               "pss": round(g["pss_kb"] / 1024, 1)}
                        for name, g in groups.items()},
    }


def machine():
    mem_kb = 0
    for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    return {"kernel": platform.release(), "cpus": os.cpu_count(),
            "mem_total_mb": mem_kb // 1024, "commit": commit or None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=3)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        log("lab_up: run as root (the lab creates namespaces, a bridge and mounts)")
        return 2

    lab = Lab(name=LAB_NAME, subnet=LAB_SUBNET, host_count=args.hosts, say=log)
    result = {"benchmark": "lab_up", "lab": LAB_NAME, "subnet": LAB_SUBNET,
              "hosts": args.hosts, "machine": machine()}
    down_done = False
    try:
        if lab.leftovers():
            log(f"[bench] removing what an earlier '{LAB_NAME}' lab left, for a cold start")
            lab.down()

        started = time.monotonic()
        lab.up(deploy=True)
        result["up_s"] = round(time.monotonic() - started, 2)

        started = time.monotonic()
        rows = lab.apply("*")
        result["apply"] = {
            "seconds": round(time.monotonic() - started, 2),
            "minions": len({r["minion"] for r in rows}),
            "states": len(rows),
            "changed": sum(1 for r in rows if r["changes"]),
            "failed": sum(1 for r in rows if r["result"] is not True),
            "changed_ids": sorted({f"{r['minion']}:{r['id']}" for r in rows if r["changes"]}),
        }

        result["memory"] = lab_memory(lab)

        started = time.monotonic()
        lab.down()
        down_done = True
        result["down_s"] = round(time.monotonic() - started, 2)
        result["ok"] = True
    except Exception as exc:  # report the failure in the JSON, then exit non-zero
        result["ok"] = False
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if not down_done:
            try:
                lab.down()
            except Exception as exc:  # noqa: BLE001 - keep the report
                result["down_error"] = f"{type(exc).__name__}: {exc}"
                result["ok"] = False
        print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
