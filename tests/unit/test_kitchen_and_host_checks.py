"""kitchen.yml and the host checks it shares with the lab (`hastack-lab verify`).

Kitchen cannot run here (no Docker): its file is checked for what would break
it, and every suite's pillar must pass the formula's own validation. The host
checks (tests/integration) must cover every tier with states, and mark each
check with a tier the formula knows.
"""

import ast
import pathlib
import re
import shlex

import yaml

from hastack_lab.lab import FORMULA, formula_config

REPO = pathlib.Path(__file__).resolve().parents[2]
KITCHEN = yaml.safe_load((REPO / "kitchen.yml").read_text())
INTEGRATION = REPO / "tests" / "integration"


def marked_tiers():
    """{tier: [check names]} from the @pytest.mark.tier("...") decorators."""
    found = {}
    for path in sorted(INTEGRATION.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                tiers = [d.args[0].value for d in node.decorator_list
                         if isinstance(d, ast.Call) and ast.unparse(d.func) == "pytest.mark.tier"]
                for tier in tiers or ["common"]:
                    found.setdefault(tier, []).append(node.name)
    return found


def test_provisioner_is_salt_solo_with_the_formula_and_its_modules():
    provisioner = KITCHEN["provisioner"]
    assert provisioner["name"] == "salt_solo"
    assert provisioner["formula"] == "hastack" and (REPO / "hastack" / "init.sls").is_file()
    assert provisioner["state_top"]["base"]["*"] == ["hastack"]
    for platform in KITCHEN["platforms"]:
        assert platform["name"] == "debian-12"


def test_every_suite_pillar_passes_the_formula_validation():
    assert KITCHEN["suites"]
    for suite in KITCHEN["suites"]:
        pillars = suite["provisioner"]["pillars"]
        assert pillars["top.sls"]["base"]["*"] == ["hastack"], suite["name"]
        hastack = pillars["hastack.sls"]["hastack"]
        assert FORMULA.check_config(formula_config(hastack)) == [], suite["name"]
        # The minion id kitchen gives the instance is a host of the pillar.
        assert KITCHEN["provisioner"]["salt_minion_id"] in hastack["hosts"], suite["name"]


def test_verifier_runs_the_host_checks_with_their_own_config():
    command = KITCHEN["verifier"]["command"]
    assert KITCHEN["verifier"]["name"] == "shell" and not KITCHEN["verifier"].get("remote_exec")
    for path in re.findall(r"tests/integration[\w/.]*", command):
        assert (REPO / path).exists(), path
    assert "-c tests/integration/pytest.ini" in command and "--hosts=" in command
    # The salt-call the checks ask for the instance's mapdata is kitchen's masterless one.
    salt_call = re.search(r'HASTACK_SALT_CALL="([^"]+)"', command).group(1)
    assert shlex.split(salt_call)[:2] == ["salt-call", "--local"]
    assert KITCHEN["provisioner"]["salt_install"] == "bootstrap"


def test_host_checks_cover_every_tier_with_states_and_name_only_known_tiers():
    config = formula_config()
    with_states = {name for name, block in FORMULA.tiers_of(config).items() if not FORMULA.is_planned(block)}
    marked = marked_tiers()
    assert set(marked) - {"common"} <= set(FORMULA.tiers_of(config)), sorted(marked)
    # Every tier's services are checked by the common check; tiers with more to
    # check than "it runs" have checks of their own.
    assert "test_every_service_of_the_hosts_tiers_runs" in marked["common"]
    own = {"galera", "arbitrator", "rabbitmq", "haproxy", "keepalived", "memcached", "keystone", "placement",
           "nova", "horizon"}
    assert own <= set(marked), sorted(own - set(marked))
    assert with_states - own <= {"compute"}, sorted(with_states - own)


def test_host_checks_are_outside_the_suites_collection():
    ini = (REPO / "pytest.ini").read_text()
    testpaths = re.search(r"^testpaths\s*=\s*(.+)$", ini, re.M).group(1).split()
    assert "tests/integration" not in testpaths
    assert "-p no:cacheprovider" in (INTEGRATION / "pytest.ini").read_text()
