"""Helpers for unit tests of the formula's Salt modules.

`_modules/` and `_states/` are not Python packages (Salt's loader syncs them to
minions), so the tests import them by path.
"""

import importlib.util
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def load_salt_module(kind, name):
    """Import REPO/<kind>/<name>.py as a fresh module object."""
    path = REPO / kind / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"hastack_test_{kind.strip('_')}_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def repo_root():
    return REPO


@pytest.fixture
def hastack_module():
    """A fresh _modules/hastack.py; tests set its loader dunders themselves."""
    return load_salt_module("_modules", "hastack")


@pytest.fixture
def hastack_state_module():
    """A fresh _states/hastack.py; tests set its loader dunders themselves."""
    return load_salt_module("_states", "hastack")


@pytest.fixture(scope="session", autouse=True)
def _drain_salt_temp_log_handler():
    """
    Importing salt queues log records in a temporary handler bound to the
    stderr pytest captured; at exit it would write them to that closed stream.
    Hand them to pytest's handlers before the session ends instead.
    """
    yield
    import salt._logging  # pylint: disable=import-outside-toplevel

    salt._logging.shutdown_temp_handler()
