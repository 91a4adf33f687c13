"""bench/run: run the benchmarks of bench/benchmarks/ against a lab and publish their figures.

Prints one JSON object per benchmark on stdout (progress goes to stderr) and
writes them all to bench/results/latest.json (--quick: to a temporary file).
Benchmarks are not tests: a figure outside its target is reported, not judged.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import logging
import os
import pathlib
import sys
import tempfile
import time
import traceback

BENCH = pathlib.Path(__file__).resolve().parent
REPO = BENCH.parent
for path in (BENCH, REPO / "lab", REPO / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from common import log, machine, ratio, summary  # noqa: E402

from hastack_lab import Lab  # noqa: E402

LATEST = BENCH / "results" / "latest.json"
DEFAULT_NAME = "hsbench"
DEFAULT_SUBNET = "10.254.0.0/24"


def discover():
    """{name: module} of every bench/benchmarks/<name>.py, in run order."""
    found = []
    for path in sorted((BENCH / "benchmarks").glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.append((getattr(module, "ORDER", 50), path.stem, module))
    return {name: module for _, name, module in sorted(found, key=lambda t: (t[0], t[1]))}


def stack_healthy(lab):
    """Every host runs, every minion answers, one VIP holder, Galera Synced x3 (what `deploy` leaves)."""
    if set(lab._init_pids()) != set(lab.hosts) or not lab._master_pid():
        return False
    status = lab.status()
    if len(status["vip_holders"]) != 1:
        return False
    for row in status["hosts"]:
        if not row["minion"] or not all(row["services"].values()):
            return False
        galera = row["facts"].get("galera")
        if galera and galera.get("state") != "Synced":
            return False
    return True


def finish(name, module, result, runs, elapsed, facts):
    """The published object: the benchmark's own fields plus the common ones."""
    out = {"name": name, "title": getattr(module, "TITLE", name), "unit": result.get("unit", module.UNIT),
           "runs": result["runs"], **summary(result["runs"])}
    peer = result.get("peer", None)
    if peer is not None:
        peer = dict(peer, **summary(peer["runs"]))
        out["ratio"] = ratio(out["median"], peer["median"])
    out["peer"] = peer
    if peer is None:
        out["peer_note"] = result.get("peer_note")
    for key, value in result.items():
        if key not in out and key not in ("unit", "runs", "peer", "peer_note"):
            out[key] = value
    out["requested_runs"] = runs
    out["elapsed_s"] = round(elapsed, 1)
    out["machine"] = facts
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all; --quick: the cheap ones)")
    parser.add_argument("--quick", action="store_true",
                        help="one run of the cheap benchmarks only; writes a temporary file, not latest.json")
    parser.add_argument("--runs", type=int, default=None, help="runs per benchmark (default 3, --quick 1)")
    parser.add_argument("--output", type=pathlib.Path, default=None, help="where to write the results")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--readme", action="store_true",
                        help="only regenerate README.md's figures table from the results file")
    parser.add_argument("--name", default=os.environ.get("HASTACK_BENCH_LAB_NAME", DEFAULT_NAME),
                        help=f"lab name (default {DEFAULT_NAME})")
    parser.add_argument("--subnet", default=os.environ.get("HASTACK_BENCH_LAB_SUBNET", DEFAULT_SUBNET),
                        help=f"lab subnet (default {DEFAULT_SUBNET})")
    parser.add_argument("--no-up", action="store_true",
                        help="use the lab as it is: never bring it up or deploy (for a lab someone else owns)")
    args = parser.parse_args(argv)

    # pika logs every connection a killed broker drops: expected here, and counted.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    benchmarks = discover()
    if args.list:
        for name, module in benchmarks.items():
            print(f"{name:<20} {'quick' if getattr(module, 'CHEAP', False) else '     '}  {module.TITLE}")
        return 0
    if args.readme:
        import readme_table
        return readme_table.main([str(args.output or LATEST)])
    unknown = [n for n in args.names if n not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(benchmarks)})")
    chosen = [n for n in benchmarks if (n in args.names if args.names else
                                          (getattr(benchmarks[n], "CHEAP", False) or not args.quick))]
    if args.quick:
        expensive = [n for n in chosen if not getattr(benchmarks[n], "CHEAP", False)]
        if expensive:
            parser.error(f"--quick runs only the cheap benchmarks, not {', '.join(expensive)}")
    if args.no_up and "deploy" in chosen:
        parser.error("deploy brings the lab down and up: not with --no-up")
    runs = args.runs or (1 if args.quick else 3)
    output = args.output
    if output is None:
        if args.quick:
            fd, name = tempfile.mkstemp(prefix="hastack-bench-", suffix=".json")
            os.close(fd)
            output = pathlib.Path(name)
        else:
            output = LATEST
    if os.geteuid() != 0:
        log("bench/run: run as root (the lab creates namespaces, a bridge and mounts)")
        return 2

    lab = Lab(name=args.name, subnet=args.subnet, host_count=3, say=log)
    facts = machine()
    started = time.monotonic()
    results, failed = [], []
    if chosen and chosen[0] != "deploy":
        if args.no_up:
            log(f"[bench] using lab '{lab.name}' as it is")
        elif stack_healthy(lab):
            log(f"[bench] lab '{lab.name}' is up and healthy")
        else:
            log(f"[bench] bringing lab '{lab.name}' up ({lab.subnet})")
            lab.up(deploy=True)
    for name in chosen:
        module = benchmarks[name]
        log(f"[bench] {name}: {runs} run(s)")
        bench_started = time.monotonic()
        try:
            result = module.run(lab, runs)
            out = finish(name, module, result, runs, time.monotonic() - bench_started, facts)
        except Exception as exc:  # noqa: BLE001 - report it and go on with the next benchmark
            log(traceback.format_exc())
            failed.append(name)
            out = finish(name, module, {"runs": [], "error": f"{type(exc).__name__}: {exc}"}, runs,
                         time.monotonic() - bench_started, facts)
        log(f"[bench] {name}: median {out['median']} {out['unit']}"
            + (f", peer {out['peer']['median']} (ratio {out.get('ratio')})" if out["peer"] else "")
            + f" - {out['elapsed_s']}s")
        print(json.dumps(out), flush=True)
        results.append(out)
    elapsed = round(time.monotonic() - started, 1)
    document = {"generated": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lab": {"name": lab.name, "subnet": lab.subnet, "hosts": lab.host_count},
                "quick": args.quick, "runs": runs, "elapsed_s": elapsed, "machine": facts,
                "benchmarks": [{k: v for k, v in r.items() if k != "machine"} for r in results]}
    for bench in document["benchmarks"]:
        bench["measured"] = document["generated"]
    if output == LATEST and args.names and LATEST.exists():
        # A partial run keeps the other benchmarks' last figures (each says when
        # it was measured) and the time of the run that measured them.
        old = json.loads(LATEST.read_text())
        mine = {r["name"] for r in document["benchmarks"]}
        kept = [dict(b, measured=b.get("measured", old.get("generated")))
                for b in old.get("benchmarks", []) if b["name"] not in mine]
        order = list(benchmarks)
        document["benchmarks"] = sorted(kept + document["benchmarks"],
                                        key=lambda b: order.index(b["name"]) if b["name"] in order else 99)
        document["elapsed_s"] = round(sum(b.get("elapsed_s") or 0 for b in document["benchmarks"]), 1)
        document["partial_update"] = sorted(mine)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    if output == LATEST:
        import readme_table
        readme_table.main([str(LATEST)])
    log(f"[bench] {len(results)} benchmark(s) in {elapsed}s; results in {output}"
        + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
