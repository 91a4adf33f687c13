"""The lab pre-installs every package the formula names, so states never reach for the network."""

import pathlib
import re

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


def lab_packages():
    text = (REPO / "lab" / "bootstrap.sh").read_text()
    block = re.search(r"HASTACK_LAB_PACKAGES=\((.*?)\)", text, re.S).group(1)
    return set(re.sub(r"#.*", "", block).split())


def formula_packages(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("pkg", "pkgs") or key.endswith("_pkg"):
                yield from ([value] if isinstance(value, str) else value)
            else:
                yield from formula_packages(value)
    elif isinstance(node, list):
        for value in node:
            yield from formula_packages(value)


def test_every_formula_package_is_preinstalled_by_the_lab():
    files = [REPO / "hastack" / "parameters" / "defaults.yaml",
             *(REPO / "hastack" / "parameters" / "tiers").glob("*.yaml"),
             *(REPO / "hastack" / "parameters" / "os_family").glob("*.yaml")]
    named = set()
    for path in files:
        named |= set(formula_packages(yaml.safe_load(path.read_text())))
    assert {"memcached", "mariadb-server", "keystone", "debconf-utils"} <= named
    assert named - lab_packages() == set()
