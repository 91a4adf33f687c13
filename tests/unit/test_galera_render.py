"""
The Galera and arbitrator tiers rendered from pillar: map.jinja's derived
facts, the config templates (my.cnf wsrep settings, /etc/default/garb) and
the sls files, without a lab.
"""

import configparser
import copy
import pathlib

import jinja2
import pytest
import salt.client
import salt.config
import salt.utils.yaml
from test_map_render import CONVERGED, SPLIT, render, repo_root_module  # noqa: F401 (fixtures)

REPO = pathlib.Path(__file__).resolve().parents[2]
# The shipped group-communication timeouts (parameters/tiers/galera.yaml), in order.
FAILURE_DETECTION = ("evs.keepalive_period=PT0.2S;evs.suspect_timeout=PT0.8S;evs.inactive_check_period=PT0.2S;"
                     "evs.inactive_timeout=PT5S;evs.install_timeout=PT2S;evs.join_retrans_period=PT0.3S")
SECRETS = {"galera_sst": "sst-secret-0123456789", "db_keystone": "ks-secret-0123456789",
           "db_glance": "gl-secret-0123456789", "db_nova": "nv-secret-0123456789",
           "db_placement": "pl-secret-0123456789"}


def pillar(layout, **extra):
    hastack = copy.deepcopy(layout)
    hastack["secrets"] = dict(SECRETS)
    hastack.update(extra)
    return {"hastack": hastack}


def template(name):
    # Names relative to hastack/; includes name their file from the file roots, as Salt does.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(REPO / "hastack"), str(REPO)]),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template(name)


def galera_cnf(mapdata):
    text = template("galera/files/galera.cnf.jinja").render(
        galera=mapdata["galera"], my_ip=mapdata["my_ip"], minion_id=mapdata["minion_id"],
        sst_password=SECRETS["galera_sst"])
    parser = configparser.ConfigParser(allow_no_value=True, interpolation=None)
    parser.read_string(text)
    return parser


def test_map_derives_galera_members_and_addresses(render):
    mapdata = render(pillar(CONVERGED), minion_id="ctl2")
    galera = mapdata["galera"]
    assert galera["members"] == ["ctl1", "ctl2", "ctl3"]
    assert galera["peer_ips"] == ["10.250.0.11", "10.250.0.13"]
    assert galera["cluster_address"] == "gcomm://10.250.0.11,10.250.0.12,10.250.0.13"
    assert galera["grant_host"] == "10.250.0.0/255.255.255.0"
    assert galera["db_users"] == {"keystone": "db_keystone", "glance": "db_glance",
                                  "nova": "db_nova", "placement": "db_placement"}
    assert galera["bootstrap"] is False
    assert "galera" in mapdata["my_tiers"] and "arbitrator" not in mapdata["my_tiers"]


def test_my_cnf_wsrep_settings_come_from_pillar(render):
    mapdata = render(pillar(CONVERGED, galera={
        "cluster_name": "prod", "gcache_size": "1G", "sst_method": "rsync",
        "innodb_buffer_pool_size": "2G",
        "provider_options": {"gcs.fc_limit": 64, "evs.suspect_timeout": "PT3S"}}),
        minion_id="ctl3")
    cnf = galera_cnf(mapdata)
    assert cnf["mysqld"]["bind-address"] == "10.250.0.13"
    assert cnf["mysqld"]["innodb_buffer_pool_size"] == "2G"
    assert cnf["mysqld"]["log_error"] == "/var/log/mysql/error.log"
    assert cnf["mysqld"]["binlog_format"] == "ROW"
    assert cnf["galera"]["wsrep_on"] == "ON"
    assert cnf["galera"]["wsrep_cluster_name"] == "prod"
    assert cnf["galera"]["wsrep_cluster_address"] == "gcomm://10.250.0.11,10.250.0.12,10.250.0.13"
    assert cnf["galera"]["wsrep_node_address"] == "10.250.0.13"
    assert cnf["galera"]["wsrep_node_name"] == "ctl3"
    assert cnf["galera"]["wsrep_sst_method"] == "rsync"
    assert cnf["galera"]["wsrep_sst_auth"] == "hastack_sst:" + SECRETS["galera_sst"]
    # Extra options come last; a failure-detection key set there wins over the default.
    assert cnf["galera"]["wsrep_provider_options"] == (
        '"pc.recovery=true;gcache.size=1G;' + FAILURE_DETECTION.replace("PT0.8S", "PT3S") + ';gcs.fc_limit=64"')
    # No syslog in the lab (and none needed): mysqld_safe and SST log to files.
    assert "skip_syslog" in cnf["mysqld_safe"]
    assert cnf["sst"]["sst-syslog"] == "-1"


def test_my_cnf_defaults(render):
    cnf = galera_cnf(render(pillar(CONVERGED)))
    assert cnf["galera"]["wsrep_sst_method"] == "mariabackup"
    assert cnf["galera"]["wsrep_provider_options"] == f'"pc.recovery=true;gcache.size=256M;{FAILURE_DETECTION}"'
    assert cnf["mysqld"]["bind-address"] == "10.250.0.11"


def test_split_layout_lists_the_arbitrator_as_a_voter(render):
    mapdata = render(pillar(SPLIT), minion_id="db1")
    assert mapdata["galera"]["members"] == ["db1", "db2"]
    assert mapdata["galera"]["cluster_address"] == "gcomm://10.250.0.23,10.250.0.24,10.250.0.25"
    assert mapdata["galera"]["peer_ips"] == ["10.250.0.24"]


def test_garb_default_file(render):
    mapdata = render(pillar(SPLIT), minion_id="garb1")
    assert mapdata["my_tiers"] == ["arbitrator"]
    text = template("arbitrator/files/garb.jinja").render(
        arbitrator=mapdata["arbitrator"], cluster_name=mapdata["galera"]["cluster_name"],
        my_ip=mapdata["my_ip"])
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert values == {
        "GALERA_NODES": '"10.250.0.23:4567,10.250.0.24:4567"',
        "GALERA_GROUP": '"hastack"',
        # The arbitrator gives up on a silent member as fast as the data members.
        "GALERA_OPTIONS": f'"gmcast.listen_addr=tcp://10.250.0.25:4567;{FAILURE_DETECTION}"',
        "LOG_FILE": '"/var/log/garbd.log"',
        "WORK_DIR": '"/var/lib/galera-arbitrator"',
    }


def test_init_script_default_file(render):
    mapdata = render(pillar(CONVERGED))
    text = template("galera/files/default-mariadb.jinja").render(galera=mapdata["galera"])
    assert "MYSQLD_STARTUP_TIMEOUT=300" in text.splitlines()


def test_grant_host_of_other_prefixes(render):
    layout = copy.deepcopy(CONVERGED)
    layout["network"] = {"cidr": "172.16.0.0/16", "vip": "172.16.0.10"}
    layout["hosts"] = {h: {"ip": f"172.16.1.{i}"} for i, h in enumerate(["ctl1", "ctl2", "ctl3"], 1)}
    assert render(pillar(layout))["galera"]["grant_host"] == "172.16.0.0/255.255.0.0"
    # An invalid cidr is validate's to report; rendering must not crash on it.
    layout["network"]["cidr"] = "not-a-network"
    assert render(pillar(layout))["galera"]["grant_host"] == ""


# ------------------------------------------------------------ sls rendering
@pytest.fixture(scope="module")
def show_sls(tmp_path_factory):
    """show_sls(sls, pillar, minion_id) -> {state id: {function: args}} (high data)."""
    roots = tmp_path_factory.mktemp("galera_roots")
    (roots / "hastack").symlink_to(REPO / "hastack", target_is_directory=True)
    callers = {}

    def _show(sls, pillar_data, minion_id="ctl1"):
        if minion_id not in callers:
            state = tmp_path_factory.mktemp(f"galera_minion_{minion_id}")
            conf = state / "minion"
            conf.write_text(salt.utils.yaml.safe_dump({
                "id": minion_id, "file_client": "local",
                "file_roots": {"base": [str(roots)]},
                "pillar_roots": {"base": [str(tmp_path_factory.mktemp("galera_pillar"))]},
                "cachedir": str(state / "cache"), "pki_dir": str(state / "pki"),
                "sock_dir": str(state / "sock"), "log_file": str(state / "minion.log"),
                "grains": {"os_family": "Debian"}, "grains_cache": False,
                "module_dirs": [str(REPO / "_modules")], "states_dirs": [str(REPO / "_states")],
            }))
            callers[minion_id] = salt.client.Caller(mopts=salt.config.minion_config(str(conf)))
        result = callers[minion_id].cmd("state.show_sls", sls, pillar=copy.deepcopy(pillar_data))
        assert isinstance(result, dict), result
        high = {}
        for state_id, body in result.items():
            for function, args in body.items():
                if isinstance(args, list) and not function.startswith("__"):
                    merged = {}
                    for arg in args:
                        if isinstance(arg, dict):
                            merged.update(arg)
                    high[state_id] = {"function": function, "args": merged, "sls": body.get("__sls__")}
        return high

    return _show


def test_galera_sls_renders_with_its_peers_and_no_bootstrap(show_sls):
    high = show_sls("hastack.galera", pillar(CONVERGED), minion_id="ctl2")
    running = high["hastack-galera-service-running"]
    assert running["function"] == "hastack_galera"
    assert running["args"]["peers"] == ["10.250.0.11", "10.250.0.13"]
    assert running["args"]["bootstrap"] is False
    assert high["hastack-galera-config-file-managed"]["args"]["mode"] == "0640"
    assert high["hastack-galera-users-keystone-present"]["args"]["host"] == "10.250.0.0/255.255.255.0"
    grants = {sid for sid in high if sid.endswith("-grants-present")}
    assert {"hastack-galera-users-nova-nova-grants-present",
            "hastack-galera-users-nova-nova_api-grants-present",
            "hastack-galera-users-nova-nova_cell0-grants-present",
            "hastack-galera-users-placement-placement-grants-present"} <= grants
    assert "hastack-galera-health-service-running" in high


def test_bootstrap_only_through_pillar(show_sls):
    high = show_sls("hastack.galera.service",
                    pillar(CONVERGED, galera={"bootstrap": True}), minion_id="ctl1")
    assert high["hastack-galera-service-running"]["args"]["bootstrap"] is True


def test_arbitrator_sls_renders(show_sls):
    high = show_sls("hastack.arbitrator", pillar(SPLIT), minion_id="garb1")
    assert high["hastack-arbitrator-package-installed"]["args"]["name"] == "galera-arbitrator-4"
    assert high["hastack-arbitrator-service-running"]["args"]["name"] == "garb"
    context = high["hastack-arbitrator-config-file-managed"]["args"]["context"]
    assert context["arbitrator"]["nodes"] == "10.250.0.23:4567,10.250.0.24:4567"
    assert context["my_ip"] == "10.250.0.25"
