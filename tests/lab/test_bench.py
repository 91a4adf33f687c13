"""`bench/run --quick` works: the cheap benchmarks, once, against the session's test lab.

Benchmarks are not tests; this only checks that the runner and the cheap
benchmarks produce the published JSON shape. It uses the lab the `lab` fixture
has brought up (never a lab of its own) and writes to a temporary file.
"""

import json
import pathlib
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_bench_run_quick_prints_one_object_per_cheap_benchmark(lab, tmp_path):
    output = tmp_path / "quick.json"
    latest = REPO / "bench" / "results" / "latest.json"
    before = latest.read_bytes() if latest.exists() else None
    proc = subprocess.run([str(REPO / "bench" / "run"), "--quick", "--no-up", "--name", lab.name,
                           "--subnet", lab.subnet, "--output", str(output)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    objects = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert {o["name"] for o in objects} >= {"idempotent", "memory", "idle_cpu", "token_issue"}
    for obj in objects:
        for key in ("name", "runs", "min", "median", "max", "unit", "machine"):
            assert key in obj, (obj["name"], key)
        assert len(obj["runs"]) == 1 and obj["median"] is not None, obj
        assert obj["machine"]["cpus"] and "mariadb-server" in obj["machine"]["packages"]
        assert obj["peer"] is not None or obj["peer_note"]
    tokens = next(o for o in objects if o["name"] == "token_issue")
    assert tokens["median"] > 0 and tokens["failed"] == [0], tokens
    idempotent = next(o for o in objects if o["name"] == "idempotent")
    assert idempotent["changes"] == [0] and idempotent["failed"] == [0], idempotent
    written = json.loads(output.read_text())
    assert [b["name"] for b in written["benchmarks"]] == [o["name"] for o in objects]
    assert (latest.read_bytes() if latest.exists() else None) == before, "--quick wrote latest.json"
