"""Import the formula's Salt modules by path.

`_modules/` and `_states/` are not Python packages (Salt's loader syncs them
to minions), so tests import them from their files.
"""

import importlib.util
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]


def load_salt_module(kind, name):
    """Import REPO/<kind>/<name>.py as a fresh module object."""
    path = REPO / kind / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"hastack_test_{kind.strip('_')}_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
