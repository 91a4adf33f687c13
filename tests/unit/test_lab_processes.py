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
