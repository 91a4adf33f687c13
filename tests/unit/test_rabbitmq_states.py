"""
_states/hastack_rabbitmq.py forgotten_data_absent: a forgotten node is stopped
and its Mnesia data removed, and a failed stop or removal fails the state.
The loader dunders come from pytest-salt-factories' ``configure_loader_modules``.
"""

import pytest
from conftest import load_salt_module
from salt.exceptions import CommandExecutionError

states = load_salt_module("_states", "hastack_rabbitmq")

ME, P1, P2 = "rabbit@ctl3", "rabbit@ctl1", "rabbit@ctl2"
DATA = "/var/lib/rabbitmq"
MNESIA = f"{DATA}/mnesia"


class RabbitSalt(dict):
    def __init__(self):
        super().__init__()
        self.calls = []
        self.stopped = True
        self.removed = True
        self.left = False
        # The running peers no longer list this node: it was forgotten.
        views = {P1: {"running": [P1, P2], "members": [P1, P2]},
                 P2: {"running": [P1, P2], "members": [P1, P2]}}
        self["hastack_rabbitmq.status"] = lambda node=None: views.get(node) if node else None
        self["service.stop"] = self._stop
        self["file.remove"] = self._remove
        self["file.directory_exists"] = lambda path: self.left

    def _stop(self, name):
        self.calls.append(("stop", name))
        return self.stopped

    def _remove(self, path):
        self.calls.append(("remove", path))
        if isinstance(self.removed, Exception):
            raise self.removed
        return self.removed


@pytest.fixture
def fake_salt():
    return RabbitSalt()


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(fake_salt, opts):
    return {states: {"__salt__": fake_salt, "__opts__": opts}}


def absent():
    return states.forgotten_data_absent(ME, [P1, P2, ME], DATA)


def test_forgotten_node_is_stopped_and_its_data_removed(fake_salt):
    ret = absent()
    assert ret["result"] is True
    assert ret["changes"] == {"stopped": "rabbitmq-server", "removed": MNESIA}
    assert fake_salt.calls == [("stop", "rabbitmq-server"), ("remove", MNESIA)]


def test_a_failed_stop_fails_and_keeps_the_data(fake_salt):
    fake_salt.stopped = False
    ret = absent()
    assert ret["result"] is False and ret["changes"] == {}
    assert "could not be stopped" in ret["comment"] and MNESIA in ret["comment"]
    assert fake_salt.calls == [("stop", "rabbitmq-server")]


@pytest.mark.parametrize("removed, left", [
    (False, True),
    (CommandExecutionError(f"Could not remove '{MNESIA}': [Errno 13] Permission denied"), True),
])
def test_a_failed_removal_fails(fake_salt, removed, left):
    fake_salt.removed, fake_salt.left = removed, left
    ret = absent()
    assert ret["result"] is False
    assert ret["changes"] == {"stopped": "rabbitmq-server"}
    assert "could not be removed" in ret["comment"]


def test_nothing_to_remove_is_no_failure(fake_salt):
    fake_salt.removed, fake_salt.left = False, False
    ret = absent()
    assert ret["result"] is True and ret["changes"] == {"stopped": "rabbitmq-server"}


def test_test_mode_changes_nothing(fake_salt, opts):
    opts["test"] = True
    ret = absent()
    assert ret["result"] is None and fake_salt.calls == []


@pytest.mark.parametrize("views", [
    # two of three hosts lost: the survivor is paused (pause_minority) and
    # answers no cluster_status, or answers without running
    {P1: None, P2: None},
    {P1: {"running": [], "members": [P1, P2, ME]}, P2: None},
])
def test_without_a_running_peer_the_data_stays(fake_salt, views):
    # A forget needs a running majority: nobody can have forgotten this node.
    fake_salt["hastack_rabbitmq.status"] = lambda node=None: views.get(node) if node else None
    ret = absent()
    assert ret["result"] is True and "its data stays" in ret["comment"], ret
    assert fake_salt.calls == [] and ret["changes"] == {}
