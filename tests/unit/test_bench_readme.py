"""The README's figures table is what bench/readme_table.py makes from the committed results.

bench/run writes bench/results/latest.json; `bench/run --readme` regenerates
the table between the bench markers in README.md. This test fails when one
was committed without the other, so the README cannot drift from a real run.
"""

import importlib.util
import json
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]


def readme_table():
    spec = importlib.util.spec_from_file_location("readme_table", REPO / "bench" / "readme_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_matches_latest_results():
    module = readme_table()
    results = json.loads((REPO / "bench" / "results" / "latest.json").read_text())
    text = (REPO / "README.md").read_text()
    assert module.BEGIN in text and module.END in text
    wanted = module.render_readme(text, results)
    assert text == wanted, "README.md's figures table is stale: run `bench/run --readme` and commit both"


def test_latest_results_have_the_published_shape():
    results = json.loads((REPO / "bench" / "results" / "latest.json").read_text())
    assert results["machine"]["cpus"] and results["machine"]["packages"]
    assert results["benchmarks"]
    for bench in results["benchmarks"]:
        for key in ("name", "unit", "runs", "min", "median", "max"):
            assert key in bench, (bench.get("name"), key)
        assert bench["peer"] is not None or bench.get("peer_note"), bench["name"]


def test_table_renders_cases_peers_and_failures():
    module = readme_table()
    results = {"generated": "now", "runs": 3, "elapsed_s": 1.0, "machine": {"cpus": 2, "packages": {"x": "1"}},
               "benchmarks": [
                   {"name": "a", "title": "A", "unit": "s", "runs": [1, 2, 3], "min": 1, "median": 2, "max": 3,
                    "peer": {"name": "p", "runs": [4], "min": 4, "median": 4, "max": 4}, "ratio": 0.5,
                    "cases": {"c": {"runs": [1], "min": 1, "median": 1, "max": 1,
                                    "peer": {"q": {"runs": [2], "min": 2, "median": 2, "max": 2}}}}},
                   {"name": "b", "title": "B", "unit": "s", "runs": [], "min": None, "median": None,
                    "max": None, "peer": None, "peer_note": "none", "error": "Boom: x"}]}
    out = module.table(results)
    assert "| `a` | 2 (1–3) | 4 [p] | 0.5 | s |  |" in out
    assert "| ↳ c | 1 | 2 [q] | 0.5 | s |  |" in out
    assert "failed: Boom: x" in out and "no peer: none" in out


def test_every_benchmark_is_one_file_with_what_the_runner_needs():
    import sys
    sys.path.insert(0, str(REPO / "bench"))
    sys.path.insert(0, str(REPO / "tests"))
    spec = importlib.util.spec_from_file_location("bench_runner", REPO / "bench" / "runner.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    benchmarks = runner.discover()
    assert list(benchmarks)[0] == "deploy"
    assert {"idempotent", "memory", "idle_cpu", "vip_failover", "db_commit_gap", "rabbit_node_loss",
            "galera_full_outage", "token_issue", "api_rollout"} <= set(benchmarks)
    for name, module in benchmarks.items():
        assert callable(module.run) and module.UNIT and module.TITLE, name
        assert isinstance(module.CHEAP, bool) and isinstance(module.ORDER, int), name
    assert {n for n, m in benchmarks.items() if m.CHEAP} == {"idempotent", "memory", "idle_cpu", "token_issue"}
