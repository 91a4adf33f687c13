"""Lab process handling: waiting for a killed process must survive it vanishing mid-read."""

import os
import subprocess
import time

from hastack_lab.lab import Lab


def test_gone_or_zombie():
    assert Lab._gone_or_zombie(os.getpid()) is False
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while not Lab._gone_or_zombie(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Lab._gone_or_zombie(child.pid) is True      # exited, not reaped yet: a zombie
    child.wait()
    assert Lab._gone_or_zombie(child.pid) is True      # reaped: /proc/<pid> is gone
    assert Lab._gone_or_zombie(2 ** 22 + 1) is True    # above pid_max: never existed


def test_kill_of_a_process_that_is_gone_returns_at_once():
    child = subprocess.Popen(["sleep", "30"])
    started = time.monotonic()
    Lab._kill(child.pid)
    child.wait()
    Lab._kill(child.pid)
    assert time.monotonic() - started < 10


def test_a_process_is_known_by_its_log_also_once_the_log_is_deleted(tmp_path):
    # A salt-master process that rewrote its whole title (EventPublisher) is
    # found by its stdout, the lab's master log, which `down` has deleted.
    from hastack_lab.lab import _writes_to

    log = tmp_path / "master.log"
    with open(log, "ab") as out:
        child = subprocess.Popen(["sleep", "30"], stdout=out, stderr=subprocess.STDOUT)
    try:
        assert _writes_to(child.pid, str(log))
        assert not _writes_to(child.pid, str(tmp_path / "other.log"))
        log.unlink()
        assert _writes_to(child.pid, str(log))
        assert not _writes_to(os.getpid(), str(log))
    finally:
        child.kill()
        child.wait()
