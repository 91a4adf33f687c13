"""Chaos tests: break the stack in the session lab and let the auto-heal repair it.

The lab pillar keeps healing off (lab/pillar/lab.sls) so the tests under
tests/lab, which kill services on purpose, never race the healer. Every test
here takes the `healing` fixture, which switches it on through
Lab.set_pillar_override for the module and off again afterwards. Nothing is
repaired by hand: the tests only break things, then watch the healer's
events (`hastack/heal/...`) and the services.
"""

import json
import os
import subprocess
import time

import pytest

from hastack_lab.lab import wait_until

HEAL_ON = {"hastack": {"heal": {"enabled": True}}}
# Kill -> healthy, per scenario (printed at the end of the session with -s).
HEAL_TIMES = {}


class EventLog:
    """`salt-run state.event hastack/heal/*` in the background; every event kept with its arrival time."""

    def __init__(self, lab, path):
        self.path = path
        self.out = open(path, "w")  # noqa: SIM115 - open for the process' lifetime
        self.proc = subprocess.Popen(
            lab.salt_cmd("salt-run", "state.event", "tagmatch=hastack/heal/*", "count=-1"),
            stdout=self.out, stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"),
            start_new_session=True)
        self._seen = []

    def events(self, tag_prefix="hastack/heal/", since=0.0):
        """[(arrival, tag, data)] of the events whose tag starts with tag_prefix, seen after `since`."""
        with open(self.path) as handle:
            lines = handle.read().splitlines()
        while len(self._seen) < len(lines):
            line = lines[len(self._seen)]
            tag, _, data = line.partition("\t")
            try:
                payload = json.loads(data) if data.strip() else {}
            except json.JSONDecodeError:
                payload = {}
            self._seen.append((time.time(), tag, payload))
        return [e for e in self._seen if e[1].startswith(tag_prefix) and e[0] >= since]

    def wait(self, tag_prefix, timeout, since=0.0, match=None):
        """The first event with that tag prefix (and data matching `match`) after `since`."""
        found = []

        def seen():
            found[:] = [e for e in self.events(tag_prefix, since)
                        if all(e[2].get(k) == v for k, v in (match or {}).items())]
            return bool(found)
        wait_until(seen, timeout, 0.5, f"event {tag_prefix} {match or ''}")
        return found[0]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.out.close()


@pytest.fixture(scope="module")
def healing(lab, tmp_path_factory):
    """Healing switched on (no maintenance, fresh backoff) with an event log; off again afterwards."""
    log = EventLog(lab, tmp_path_factory.mktemp("heal") / "events.txt")
    for target in lab.hosts + ["galera", "rabbitmq", "memcached"]:
        lab.salt_run("hastack_heal.maintenance", target, "off")
    # Heals of an earlier run (a kept lab) must not count towards the backoff.
    for cluster in ("galera", "rabbitmq", "memcached", "hosts"):
        lab.salt_run("hastack_heal.reset", cluster)
    lab.set_pillar_override(HEAL_ON)
    time.sleep(2)
    try:
        yield log
    finally:
        lab.set_pillar_override(None)
        log.close()


@pytest.fixture
def heal_switch(lab):
    """Switch healing on (True) or back to the lab pillar's off (False)."""
    return lambda on: lab.set_pillar_override(HEAL_ON if on else None)


@pytest.fixture(scope="session")
def heal_times():
    return HEAL_TIMES


def pytest_terminal_summary(terminalreporter):
    if HEAL_TIMES:
        terminalreporter.write_line("time to heal (kill -> healthy): " + ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in HEAL_TIMES.items()))
