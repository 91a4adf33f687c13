"""Helpers for unit tests of the formula's Salt modules.

`_modules/` and `_states/` are not Python packages (Salt's loader syncs them to
minions), so the tests import them by path.
"""

import pathlib

import pytest
from saltmod_loader import load_salt_module  # noqa: F401  (tests import it from here)

REPO = pathlib.Path(__file__).resolve().parents[2]


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


def loader_functions(module):
    """
    ``{"<virtualname>.<function>": function}`` for the public functions of a
    module loaded by path: what another module finds in ``__salt__``.
    """
    return {
        f"{module.__virtualname__}.{name}": value
        for name, value in vars(module).items()
        if callable(value) and not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    }
