"""Shared fixtures: the session-wide namespace lab used by tests marked `lab`.

The test lab has its own name and subnet, so it never touches a lab a
developer keeps running. It is always torn down, also when a test fails;
HASTACK_TEST_KEEP_LAB=1 keeps it up between runs while developing.
"""

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lab"))
sys.path.insert(0, str(REPO / "tests"))

from hastack_lab import Lab  # noqa: E402

TEST_LAB_NAME = os.environ.get("HASTACK_TEST_LAB_NAME", "hstest")
TEST_LAB_SUBNET = os.environ.get("HASTACK_TEST_LAB_SUBNET", "10.251.0.0/24")


@pytest.fixture(scope="session")
def lab():
    """A deployed three-host lab (the default converged layout)."""
    test_lab = Lab(name=TEST_LAB_NAME, subnet=TEST_LAB_SUBNET, host_count=3,
                   say=lambda msg: print(msg, file=sys.stderr))
    try:
        # HASTACK_TEST_NO_DEPLOY=1: a kept lab, deployed already, is used as it is.
        test_lab.up(deploy=os.environ.get("HASTACK_TEST_NO_DEPLOY") != "1")
        yield test_lab
    finally:
        if os.environ.get("HASTACK_TEST_KEEP_LAB") != "1":
            test_lab.down()


def pytest_collection_modifyitems(items):
    # Everything under tests/lab and tests/chaos needs the lab: mark it so
    # `-m "not lab"` works.
    for item in items:
        path = str(item.fspath).replace(os.sep, "/")
        if "tests/lab/" in path or "tests/chaos/" in path:
            item.add_marker(pytest.mark.lab)
    # The two-host layout's own lab runs before the session lab exists, so the two
    # never share the machine's cores (the fixtures start labs on first use). A
    # whole-lab outage would disturb the tests after it: those go last.
    def order(item):
        path = str(item.fspath).replace(os.sep, "/")
        lab_test = "tests/lab/" in path or "tests/chaos/" in path
        return (lab_test, not path.endswith("tests/lab/test_two_host.py"),
                item.get_closest_marker("outage") is not None)
    items.sort(key=order)
