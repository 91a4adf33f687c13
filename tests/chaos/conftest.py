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
from amqp_load import ConfirmedPublisher, consume_all
from commit_load import CommitLoad, missing_rows, prepare_probe_database

from hastack_lab.lab import wait_until

HEAL_ON = {"hastack": {"heal": {"enabled": True}}}
# Kill -> healthy, per scenario (printed at the end of the session with -s).
HEAL_TIMES = {}


class EventLog:
    """`salt-run state.event hastack/heal/*` in the background; every event kept with its arrival time."""

    def __init__(self, lab, path):
        self.lab, self.path = lab, path
        self.out = open(path, "w")  # noqa: SIM115 - open for the process' lifetime
        self._listen()
        self._seen = []

    def _listen(self):
        self.proc = subprocess.Popen(
            self.lab.salt_cmd("salt-run", "state.event", "tagmatch=hastack/heal/*", "count=-1"),
            stdout=self.out, stderr=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"),
            start_new_session=True)

    def relisten(self):
        """Listen again (after a master restart ended the old listener's bus); the log goes on."""
        self._stop()
        self._listen()

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

    def _stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def close(self):
        self._stop()
        self.out.close()


@pytest.fixture(scope="module")
def healing(lab, tmp_path_factory):
    """Healing switched on (no maintenance, fresh backoff) with an event log; off again afterwards."""
    log = EventLog(lab, tmp_path_factory.mktemp("heal") / "events.txt")
    clusters = ["galera", "rabbitmq", "memcached", "keystone", "horizon", "placement", "nova", "compute"]
    lab.salt_run("hastack_heal.maintenance", ",".join(lab.hosts + clusters), "off")
    # Heals of an earlier run (a kept lab) must not count towards the backoff.
    lab.salt_run("hastack_heal.reset", ",".join([*clusters, "hosts"]))
    lab.set_pillar_override(HEAL_ON)
    time.sleep(2)
    try:
        yield log
    finally:
        lab.set_pillar_override(None)
        log.close()


class ClientLoad:
    """A writer committing rows through VIP:3306 and a publisher sending confirmed messages."""

    def __init__(self, lab, name):
        self.lab, self.database, self.queue = lab, f"hastack_{name}", f"hastack-{name}"
        prepare_probe_database(lab, lab.hosts[0], self.database)
        # Bounded: at most 20 commits and 10 messages a second, for at most an hour.
        self.writer = CommitLoad(lab, self.database, interval=0.05, max_seconds=3600)
        self.publisher = ConfirmedPublisher(lab, self.queue, interval=0.1, max_seconds=3600)

    def start(self):
        self.writer.start()
        self.publisher.start()
        self.still_working()

    def still_working(self, timeout=120):
        """Both clients get new acknowledgements (the stack serves again)."""
        self.writer.wait_for_acks(len(self.writer.acked()) + 20, timeout)
        self.publisher.wait_for_confirms(len(self.publisher.confirmed()) + 10, timeout)

    def stop_and_count(self):
        """Stop both; every acknowledged row and confirmed message must still be there."""
        self.writer.stop()
        self.publisher.stop()
        assert self.writer.acked(), "the writer got no commit acknowledged"
        assert self.publisher.confirmed(), "the publisher got no message confirmed"
        missing = missing_rows(self.lab, self.database, self.writer.acked())
        assert not missing, f"{len(missing)} acknowledged rows are missing, e.g. {sorted(missing)[:5]}"
        got = set(consume_all(self.lab, self.lab.powered_on()[0], self.queue))
        lost = set(self.publisher.confirmed()) - got
        assert not lost, f"{len(lost)} confirmed messages are missing, e.g. {sorted(lost)[:5]}"


@pytest.fixture(scope="module")
def load(lab, healing, request):
    """Client load for a whole chaos module, counted at its end."""
    clients = ClientLoad(lab, "chaos_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_"))
    clients.start()
    yield clients
    clients.stop_and_count()


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
