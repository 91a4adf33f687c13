"""The lab pre-installs every package the formula names for it (the formula's parameters under the
lab's pillar, which e.g. picks the compute hosts' hypervisor package), so states never reach for
the network."""

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
    assert {"memcached", "mariadb-server", "keystone", "debconf-utils", "placement-api", "nova-api",
            "nova-compute", "openstack-dashboard"} <= named
    # What the lab's pillar names instead (a setting it overrides names nothing in the lab).
    lab = yaml.safe_load((REPO / "lab" / "pillar" / "lab.sls").read_text())["hastack"]
    overridden = {(tier, key) for tier, settings in lab.items() if isinstance(settings, dict)
                  for key in settings if key in ("pkg", "pkgs") or key.endswith("_pkg")}
    for tier, key in overridden:
        for path in files:
            values = (yaml.safe_load(path.read_text()) or {}).get("values") or {}
            default = (values.get(tier) or {}).get(key)
            named -= set([default] if isinstance(default, str) else default or [])
    named |= set(formula_packages(lab))
    assert ("compute", "hypervisor_pkg") in overridden and "nova-compute-ironic" in named
    assert named - lab_packages() == set()
