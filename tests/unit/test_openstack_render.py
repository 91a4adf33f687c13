"""
The tiers after keystone (placement, nova, compute, horizon) rendered from
pillar without a lab: their configs point at the VIP and every cache and mq
host, secrets sit only in their files (0640 root:<service group>, no diff),
the one-time steps are guarded, the deploy orchestrations order them, and
the keystone registration is idempotent and never shows a password.
"""

import ast
import configparser
import copy
import http.server
import json
import re
import threading
import uuid

import pytest
import yaml
from saltmod_loader import REPO, load_salt_module
from test_galera_orch_render import SECRETS, orch  # noqa: F401 (fixture)
from test_galera_render import show_sls, template  # noqa: F401 (fixture)
from test_map_render import CONVERGED, SPLIT, render, repo_root_module  # noqa: F401 (fixtures)

VIP = "10.250.0.10"


def layout_with_compute(layout, compute):
    hastack = copy.deepcopy(layout)
    hastack["roles"]["compute"] = list(compute)
    return hastack


CONVERGED_C = layout_with_compute(CONVERGED, ["ctl1", "ctl2", "ctl3"])
SPLIT_C = layout_with_compute(SPLIT, ["api2"])


def pillar(layout, **extra):
    hastack = copy.deepcopy(layout)
    hastack["secrets"] = dict(SECRETS)
    hastack.update(extra)
    return {"hastack": hastack}


def ini(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def placement_conf(mapdata):
    return ini(template("placement/files/placement.conf.jinja").render(
        placement=mapdata["placement"], secrets=mapdata["placement_secrets"]))


def nova_conf(mapdata):
    return ini(template("nova/files/nova.conf.jinja").render(
        nova=mapdata["nova"], placement=mapdata["placement"], secrets=mapdata["nova_secrets"],
        oslo=mapdata["rabbitmq"]["oslo"], my_ip=mapdata["my_ip"]))


def compute_conf(mapdata):
    return ini(template("compute/files/nova-compute.conf.jinja").render(
        compute=mapdata["compute"], nova=mapdata["nova"], placement=mapdata["placement"],
        secrets=mapdata["compute_secrets"], oslo=mapdata["rabbitmq"]["oslo"], my_ip=mapdata["my_ip"]))


def local_settings(mapdata):
    """local_settings.py's assignments, evaluated (it is Python) without its imports and file read."""
    text = template("horizon/files/local_settings.py.jinja").render(horizon=mapdata["horizon"])
    tree = ast.parse(text)
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return text, values


def derived(pillar_data, minion):
    """
    What map.jinja hands the states (hastack.derive over the merged layers),
    computed in-process: one Salt Caller per minion id can render with the
    id of the Caller built last, and these tests visit many minions.
    """
    module = load_salt_module("_modules", "hastack")
    defaults, tier_docs, os_family = module.read_layers(REPO / "hastack")
    return module.derive(module.merge_config(defaults, pillar_data["hastack"], os_family, tier_docs), minion)


def db_url(user, secret, database):
    return f"mysql+pymysql://{user}:{SECRETS[secret]}@{VIP}:3306/{database}?charset=utf8mb4"


@pytest.fixture
def mod():
    return load_salt_module("_modules", "hastack")


@pytest.fixture
def api():
    return load_salt_module("_modules", "hastack_api")


@pytest.fixture
def ks():
    return load_salt_module("_modules", "hastack_keystone")


# ------------------------------------------------------------ configs
@pytest.mark.parametrize("layout, minion, cache", [
    (CONVERGED_C, "ctl2", ["10.250.0.11:11211", "10.250.0.12:11211", "10.250.0.13:11211"]),
    (SPLIT_C, "api2", ["10.250.0.26:11211", "10.250.0.27:11211"]),
])
def test_placement_conf_points_at_the_vip(render, layout, minion, cache):
    mapdata = render(pillar(layout), minion_id=minion)
    assert "placement" in mapdata["my_tiers"]
    assert mapdata["placement"]["url"] == f"http://{VIP}:8778"
    assert mapdata["placement"]["http_socket"] == f"{mapdata['my_ip']}:8778"
    conf = placement_conf(mapdata)
    assert conf["placement_database"]["connection"] == db_url("placement", "db_placement", "placement")
    auth = conf["keystone_authtoken"]
    assert auth["auth_url"] == auth["www_authenticate_uri"] == f"http://{VIP}:5000/v3"
    assert auth["memcached_servers"] == ",".join(cache)
    assert (auth["username"], auth["project_name"], auth["password"]) == (
        "placement", "service", SECRETS["service_placement"])
    text = template("placement/files/default-placement-api.jinja").render(
        http_socket=mapdata["placement"]["http_socket"], uwsgi_ini=mapdata["placement"]["uwsgi_ini"])
    assert (f'DAEMON_ARGS="--http-socket {mapdata["my_ip"]}:8778 --ini /etc/placement/placement-api-uwsgi.ini"'
            in text)


@pytest.mark.parametrize("layout, minion, brokers", [
    (CONVERGED_C, "ctl3", ["ctl1", "ctl2", "ctl3"]),
    (SPLIT_C, "api1", ["api1", "api2", "api3"]),
])
def test_nova_conf_points_at_the_vip_and_every_broker(layout, minion, brokers):
    mapdata = derived(pillar(layout), minion)
    assert [t for t in mapdata["my_tiers"] if t in ("placement", "nova")] == ["placement", "nova"]
    conf = nova_conf(mapdata)
    assert conf["api_database"]["connection"] == db_url("nova", "db_nova", "nova_api")
    assert conf["database"]["connection"] == db_url("nova", "db_nova", "nova")
    password = SECRETS["rabbit_openstack"]
    assert conf["DEFAULT"]["transport_url"] == (
        "rabbit://" + ",".join(f"openstack:{password}@{host}:5672" for host in brokers) + "/openstack")
    assert conf["DEFAULT"]["my_ip"] == mapdata["my_ip"]
    assert conf["oslo_messaging_rabbit"]["rabbit_quorum_queue"] == "true"
    assert conf["keystone_authtoken"]["auth_url"] == f"http://{VIP}:5000/v3"
    assert conf["keystone_authtoken"]["password"] == SECRETS["service_nova"]
    assert conf["service_user"]["password"] == SECRETS["service_nova"]
    assert (conf["placement"]["username"], conf["placement"]["password"]) == (
        "placement", SECRETS["service_placement"])
    assert conf["glance"]["api_servers"] == f"http://{VIP}:9292"
    assert conf["vnc"]["enabled"] == "false"
    assert conf["cache"]["enabled"] == "true"
    assert mapdata["nova"]["url"] == f"http://{VIP}:8774/v2.1"
    assert mapdata["nova"]["http_sockets"] == {"nova-api": f"{mapdata['my_ip']}:8774",
                                               "nova-api-metadata": f"{mapdata['my_ip']}:8775"}


def test_every_database_pool_is_bounded_and_set_from_pillar(render):
    # oslo.db's own default overflow (50 per process and database) lets a
    # restarting control plane open more connections than the writer allows.
    layout = copy.deepcopy(CONVERGED_C)
    layout["placement"] = {"db_pool": {"max_pool_size": 3, "max_overflow": 4}}
    nova = nova_conf(derived(pillar(CONVERGED_C), "ctl1"))
    for section in ("api_database", "database"):
        assert (nova[section]["max_pool_size"], nova[section]["max_overflow"]) == ("5", "10")
    placement = placement_conf(render(pillar(layout), minion_id="ctl1"))
    assert (placement["placement_database"]["max_pool_size"],
            placement["placement_database"]["max_overflow"]) == ("3", "4")


def test_nova_uwsgi_services_bind_the_stack_ip_only():
    mapdata = derived(pillar(CONVERGED_C), "ctl1")
    nova = mapdata["nova"]
    for name, port, wsgi in (("nova-api", 8774, "/usr/bin/nova-api-wsgi"),
                             ("nova-api-metadata", 8775, "/usr/bin/nova-metadata-wsgi")):
        service = nova["uwsgi_services"][name]
        text = template("nova/files/default-uwsgi.jinja").render(
            service=name, http_socket=nova["http_sockets"][name], uwsgi_ini=service["ini"])
        assert f'DAEMON_ARGS="--http-socket 10.250.0.11:{port} --ini /etc/nova/{name}-uwsgi.ini"' in text
        uwsgi = ini(template("nova/files/uwsgi.ini.jinja").render(
            name=name, uwsgi=service, user="nova", group="nova", state_path=nova["state_path"]))["uwsgi"]
        assert uwsgi["wsgi-file"] == wsgi and uwsgi["name"] == name
        assert uwsgi["need-app"] == "true"
        assert "http-socket" not in uwsgi and "socket" not in uwsgi
        # The reconciler finds each by the ini its command line names.
        assert mapdata["tiers"]["nova"]["processes"][name] == f"--ini {service['ini']}"


@pytest.mark.parametrize("driver, virt", [("fake.FakeDriver", False), ("libvirt.LibvirtDriver", True)])
def test_compute_conf_sets_the_driver_and_reaches_the_control_plane(driver, virt):
    mapdata = derived(pillar(SPLIT_C, compute={"driver": driver}), "api2")
    assert "compute" in mapdata["my_tiers"]
    conf = compute_conf(mapdata)
    assert conf["DEFAULT"]["compute_driver"] == driver
    assert conf.has_section("libvirt") is virt
    assert conf["DEFAULT"]["transport_url"].startswith(f"rabbit://openstack:{SECRETS['rabbit_openstack']}@api1:")
    assert conf["placement"]["auth_url"] == f"http://{VIP}:5000/v3"
    # nova-compute reaches the databases only through the conductor.
    assert not conf.has_section("database") and not conf.has_section("api_database")
    assert db_url("nova", "db_nova", "nova") not in json.dumps(mapdata["compute_secrets"])


def test_compute_installs_nova_compute_with_its_hypervisor_package():
    mapdata = derived(pillar(CONVERGED_C), "ctl1")
    assert mapdata["compute"]["all_pkgs"] == ["nova-compute", "nova-compute-kvm"]
    mapdata = derived(pillar(CONVERGED_C, compute={"hypervisor_pkg": "nova-compute-ironic"}), "ctl1")
    assert mapdata["compute"]["all_pkgs"] == ["nova-compute", "nova-compute-ironic"]


@pytest.mark.parametrize("layout, minion, hosts", [
    (CONVERGED_C, "ctl1", ["10.250.0.11", "10.250.0.12", "10.250.0.13"]),
    (SPLIT_C, "api2", ["10.250.0.26", "10.250.0.27"]),
])
def test_local_settings_use_the_vip_and_every_cache_host(layout, minion, hosts):
    mapdata = derived(pillar(layout), minion)
    text, values = local_settings(mapdata)
    assert values["OPENSTACK_HOST"] == VIP
    assert values["OPENSTACK_KEYSTONE_URL"] == f"http://{VIP}:5000/v3"
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.cache"
    assert values["CACHES"]["default"]["LOCATION"] == [f"{host}:11211" for host in hosts]
    assert values["ALLOWED_HOSTS"] == [VIP, *hosts]
    assert values["WEBROOT"] == "/"
    # The key is read from its own file; local_settings.py holds no secret.
    assert SECRETS["horizon_secret_key"] not in text
    assert 'with open("/etc/openstack-dashboard/secret_key") as _key:' in text
    compile(text, "local_settings.py", "exec")


def test_no_cache_host_keeps_sessions_in_signed_cookies():
    layout = copy.deepcopy(SPLIT_C)
    layout["roles"]["cache"] = []
    _text, values = local_settings(derived(pillar(layout), "api1"))
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.signed_cookies"
    assert "CACHES" not in values


def test_apache_listens_on_the_stack_ip_only():
    mapdata = derived(pillar(CONVERGED_C), "ctl2")
    ports = template("horizon/files/ports.conf.jinja").render(listen=mapdata["horizon"]["listen"])
    assert [line for line in ports.splitlines() if line.startswith("Listen")] == ["Listen 10.250.0.12:80"]
    site = template("horizon/files/openstack-dashboard.conf.jinja").render(
        horizon=mapdata["horizon"], my_ip=mapdata["my_ip"])
    assert "<VirtualHost 10.250.0.12:80>" in site and "ServerName 10.250.0.12" in site
    assert "WSGIScriptAlias / /usr/share/openstack-dashboard/wsgi.py" in site
    assert "WSGIProcessGroup horizon" in site
    assert VIP not in ports + site


# ------------------------------------------------------------ sls rendering
def holders(high, secret):
    return {sid for sid, body in high.items() if secret in json.dumps(body["args"])}


@pytest.mark.parametrize("layout, minion", [(CONVERGED_C, "ctl1"), (SPLIT_C, "api2")])
def test_sls_modes_and_secrets_only_in_their_files(show_sls, layout, minion):
    data = pillar(layout)
    high = {}
    for sls in ("hastack.placement", "hastack.nova", "hastack.compute", "hastack.horizon"):
        high.update(show_sls(sls, data, minion_id=minion))
    for sid, group in (("hastack-placement-config-file-managed", "placement"),
                       ("hastack-nova-config-file-managed", "nova"),
                       ("hastack-compute-config-file-managed", "nova"),
                       ("hastack-horizon-config-secret-key-file-managed", "www-data")):
        args = high[sid]["args"]
        assert (args["user"], args["group"], args["mode"], args["show_changes"]) == ("root", group, "0640", False)
    assert high["hastack-horizon-config-secret-key-file-managed"]["args"]["contents"] == (
        SECRETS["horizon_secret_key"])
    owners = {
        SECRETS["db_placement"]: {"hastack-placement-config-file-managed"},
        SECRETS["db_nova"]: {"hastack-nova-config-file-managed"},
        SECRETS["service_nova"]: {"hastack-nova-config-file-managed", "hastack-compute-config-file-managed"},
        SECRETS["service_placement"]: {"hastack-placement-config-file-managed", "hastack-nova-config-file-managed",
                                       "hastack-compute-config-file-managed"},
        SECRETS["rabbit_openstack"]: {"hastack-nova-config-file-managed", "hastack-compute-config-file-managed"},
        SECRETS["horizon_secret_key"]: {"hastack-horizon-config-secret-key-file-managed"},
        SECRETS["keystone_admin"]: set(),
    }
    for secret, owner in owners.items():
        assert holders(high, secret) == owner, secret[:12]
        assert not any(secret in sid for sid in high)
    # Every uwsgi service binds the stack IP through its init script's settings.
    assert high["hastack-placement-package-default-file-managed"]["args"]["context"]["http_socket"].endswith(":8778")
    for name in ("nova-api", "nova-api-metadata"):
        assert high[f"hastack-nova-package-{name}-default-file-managed"]["args"]["mode"] == "0644"
    # Debconf answers: no database, no keystone settings, no endpoint from any postinst.
    answers = {sid: body["args"]["data"] for sid, body in high.items() if body["function"] == "debconf"}
    for sid, data_ in answers.items():
        assert all(answer["type"] == "boolean" for answer in data_.values()), sid
    assert answers["hastack-nova-package-nova-api-debconf-present"]["novaapi/configure_db"]["value"] is False
    assert answers["hastack-placement-package-placement-common-debconf-present"][
        "placement/configure_db"]["value"] is False
    # The quirk of Debian's dashboard: its per-process cache snippet goes.
    assert high["hastack-horizon-config-debian-overrides-absent"]["args"]["names"] == [
        "/etc/openstack-dashboard/local_settings.d/_0006_debian_cache.py"]
    assert high["hastack-horizon-config-static-files-managed"]["args"]["onchanges"] == [
        {"file": "hastack-horizon-config-webroot-file-managed"}]
    assert high["hastack-horizon-config-000-default-site-absent"]["function"] == "file"
    services = {body["args"]["name"] for body in high.values() if body["function"] == "service"}
    assert services == {"placement-api", "nova-api", "nova-api-metadata", "nova-conductor", "nova-scheduler",
                        "nova-compute", "apache2"}
    # No `sig`: Salt's signature search skips ps lines holding its job id.
    assert not [sid for sid, body in high.items() if body["function"] == "service" and "sig" in body["args"]]


def test_bootstrap_steps_are_guarded_and_keep_passwords_off_command_lines(show_sls):
    data = pillar(CONVERGED_C)
    placement = show_sls("hastack.placement.bootstrap", data, minion_id="ctl1")
    sync = placement["hastack-placement-bootstrap-database-synced"]["args"]
    assert (sync["name"], sync["runas"]) == ("placement-manage db sync", "placement")
    assert sync["unless"] == [{"fun": "hastack_api.placement_schema_synced"}]
    registered = placement["hastack-placement-bootstrap-service-present"]
    assert registered["function"] == "hastack_keystone"
    assert registered["args"]["url"] == f"http://{VIP}:8778"
    assert registered["args"]["password_pillar"] == "hastack:secrets:service_placement"

    nova = show_sls("hastack.nova.bootstrap", data, minion_id="ctl1")
    steps = [(sid, body["args"]) for sid, body in sorted(nova.items(), key=lambda item: item[1]["args"]["order"])
             if sid.startswith("hastack-nova-bootstrap-")]
    assert [(sid, args.get("name"), args.get("unless")) for sid, args in steps] == [
        ("hastack-nova-bootstrap-api-database-synced", "nova-manage api_db sync",
         [{"fun": "hastack_api.nova_schema_synced", "args": ["api"]}]),
        # Cell mappings as templates nova fills from nova.conf: no password in the database.
        ("hastack-nova-bootstrap-cell0-present", "nova-manage cell_v2 map_cell0 --database_connection "
         "'{scheme}://{username}:{password}@{hostname}:{port}/nova_cell0?{query}'",
         [{"fun": "hastack_api.cell_present", "args": ["cell0"]}]),
        ("hastack-nova-bootstrap-cell1-present", "nova-manage cell_v2 create_cell --name cell1 --verbose "
         "--database_connection '{scheme}://{username}:{password}@{hostname}:{port}/{path}?{query}' "
         "--transport-url 'rabbit://{username1}:{password1}@{hostname1}:{port1},"
         "{username2}:{password2}@{hostname2}:{port2},{username3}:{password3}@{hostname3}:{port3}/{path}'",
         [{"fun": "hastack_api.cell_present", "args": ["cell1"]}]),
        ("hastack-nova-bootstrap-database-synced", "nova-manage db sync",
         [{"fun": "hastack_api.nova_schema_synced", "args": ["main"]}]),
        ("hastack-nova-bootstrap-service-present", "nova", None),
    ]
    assert all(args.get("runas") == "nova" for sid, args in steps[:4])
    assert steps[-1][1]["url"] == f"http://{VIP}:8774/v2.1"
    # nova.conf comes first; no nova service starts before the schemas exist.
    assert "hastack-nova-config-file-managed" in nova
    assert not [body for body in nova.values() if body["function"] == "service"]
    for high in (placement, nova):
        text = json.dumps({sid: body["args"] for sid, body in high.items() if "config-file" not in sid})
        assert not [name for name, value in SECRETS.items() if value in text]


def test_clean_sls_removes_what_the_tiers_wrote(show_sls):
    data = pillar(CONVERGED_C)
    names = {}
    for tier in ("placement", "nova", "compute", "horizon"):
        high = show_sls(f"hastack.{tier}.clean", data, minion_id="ctl1")
        names[tier] = set(high[f"hastack-{tier}-clean-files-absent"]["args"]["names"])
    assert {"/etc/placement/placement.conf", "/etc/default/placement-api"} <= names["placement"]
    assert {"/etc/nova/nova.conf", "/etc/default/nova-api", "/etc/nova/nova-api-metadata-uwsgi.ini"} <= names["nova"]
    assert names["compute"] == {"/etc/nova/nova-compute.conf"}
    assert {"/etc/openstack-dashboard/secret_key", "/etc/apache2/sites-enabled/openstack-dashboard.conf"} <= (
        names["horizon"])


# ------------------------------------------------------------ orchestration
HEALTH_FUNCTIONS = ("hastack_keystone.is_healthy", "hastack_api.horizon_healthy", "hastack_api.placement_healthy",
                    "hastack_api.nova_healthy")


def serving(*hosts):
    """saltutil.cmd answers of every API tier's health function: True on `hosts`, False elsewhere."""
    return {function: {host: {"ret": host in hosts, "retcode": 0} for host in ("ctl1", "ctl2", "ctl3")}
            for function in HEALTH_FUNCTIONS}


def test_deploy_orders_the_one_time_steps(orch):
    # One host serves: every API tier is rolled one host at a time.
    high, _calls = orch("orch.deploy", pillar(CONVERGED_C), serving("ctl2"))
    # Placement: before it runs anywhere (its app needs its tables), on the first host only.
    assert high["hastack-deploy-placement-bootstrapped"]["args"]["tgt"] == "ctl1"
    assert high["hastack-deploy-placement-bootstrapped"]["args"]["require"] == [
        {"test": "hastack-deploy-placement-started"}]
    assert high["hastack-deploy-placement-ctl1-drained"]["args"]["require"] == [
        {"salt": "hastack-deploy-placement-bootstrapped"}]
    assert high["hastack-deploy-placement-ctl1-drained"]["args"]["kwarg"]["backends"] == ["placement"]
    # Nova: before any nova service runs (the first host's drain waits for it).
    assert high["hastack-deploy-nova-bootstrapped"]["args"]["require"] == [{"test": "hastack-deploy-nova-started"}]
    assert high["hastack-deploy-nova-bootstrapped"]["args"]["sls"] == "hastack.nova.bootstrap"
    assert high["hastack-deploy-nova-ctl1-drained"]["args"]["require"] == [
        {"salt": "hastack-deploy-nova-bootstrapped"}]
    assert high["hastack-deploy-nova-ctl1-drained"]["args"]["kwarg"]["backends"] == ["nova", "nova_metadata"]
    assert high["hastack-deploy-nova-ctl1-hastack_api.nova_healthy-healthy"]["args"]["tgt"] == "ctl1"
    bootstraps = [sid for sid, body in high.items() if str(body["args"].get("sls", "")).endswith(".bootstrap")]
    assert sorted(bootstraps) == ["hastack-deploy-keystone-bootstrapped", "hastack-deploy-nova-bootstrapped",
                                  "hastack-deploy-placement-bootstrapped"]
    # Horizon: no one-time step; compute: one host after the other, no drain.
    assert "hastack-deploy-horizon-bootstrapped" not in high
    assert high["hastack-deploy-horizon-ctl3-drained"]["args"]["kwarg"]["backends"] == ["horizon"]
    assert high["hastack-deploy-compute-ctl2-applied"]["args"]["require"] == [
        {"salt": "hastack-deploy-compute-ctl1-applied"}]
    assert not [sid for sid in high if sid.startswith("hastack-deploy-compute-") and "drained" in sid]
    # Tier order: keystone, horizon, placement, nova, compute.
    assert high["hastack-deploy-nova-started"]["args"]["require"] == [{"test": "hastack-deploy-placement-done"}]
    assert high["hastack-deploy-compute-started"]["args"]["require"] == [{"test": "hastack-deploy-nova-done"}]
    assert not any(secret in json.dumps(high) for secret in SECRETS.values())


def test_a_tier_no_host_serves_is_applied_on_every_host_at_once(orch):
    # A first deploy: no health function answers True (keystone's is not even loaded yet).
    answers = serving()
    answers["hastack_keystone.is_healthy"] = {host: {"ret": "'hastack_keystone.is_healthy' is not available.",
                                                     "retcode": 254} for host in ("ctl1", "ctl2", "ctl3")}
    high, calls = orch("orch.deploy", pillar(CONVERGED_C), answers)
    # Nothing to compare with: no dry run at render time.
    assert [c for c in calls if c["fun"] == "state.sls"] == []
    assert sorted(c["fun"] for c in calls if c["fun"] in HEALTH_FUNCTIONS) == sorted(HEALTH_FUNCTIONS)
    for tier in ("keystone", "horizon", "placement", "nova"):
        applied = high[f"hastack-deploy-{tier}-applied-at-once"]["args"]
        assert applied["tgt"] == ["ctl1", "ctl2", "ctl3"] and applied["tgt_type"] == "list", tier
        assert not [sid for sid in high if sid.startswith(f"hastack-deploy-{tier}-") and sid.endswith("-drained")]
        last_up = {"salt": f"hastack-deploy-{tier}-ctl3-up"}
        assert high[f"hastack-deploy-{tier}-rolled-out"]["args"]["require"] == [last_up]
    # Placement and nova: their one-time steps before any of their services runs.
    assert high["hastack-deploy-nova-bootstrapped"]["args"]["tgt"] == "ctl1"
    assert high["hastack-deploy-nova-applied-at-once"]["args"]["require"] == [
        {"salt": "hastack-deploy-nova-bootstrapped"}]
    healthy = high["hastack-deploy-nova-hastack_api.nova_healthy-healthy"]["args"]
    assert healthy["tgt"] == ["ctl1", "ctl2", "ctl3"] and healthy["arg"] == ["hastack_api.nova_healthy"]
    assert high["hastack-deploy-nova-ctl1-up"]["args"]["require"] == [
        {"salt": "hastack-deploy-nova-hastack_api.nova_healthy-healthy"}]
    assert high["hastack-deploy-nova-ctl2-up"]["args"]["kwarg"]["backends"] == ["nova", "nova_metadata"]
    # Keystone: bootstrapped once every keystone answers, then each host put back.
    assert high["hastack-deploy-keystone-bootstrapped"]["args"]["require"] == [
        {"salt": "hastack-deploy-keystone-hastack_keystone.is_healthy-healthy"}]
    assert high["hastack-deploy-keystone-ctl1-up"]["args"]["require"] == [
        {"salt": "hastack-deploy-keystone-bootstrapped"}]
    # Compute has no health function: one host after the other, as ever.
    assert high["hastack-deploy-compute-ctl2-applied"]["args"]["require"] == [
        {"salt": "hastack-deploy-compute-ctl1-applied"}]


def test_one_serving_host_keeps_the_rollout_one_host_at_a_time(orch):
    high, calls = orch("orch.deploy", pillar(CONVERGED_C), serving("ctl3"))
    assert not [sid for sid in high if sid.endswith("-applied-at-once")]
    # The dry runs decide which hosts roll: with no answer, every host does.
    assert sorted(c["arg"][0] for c in calls if c["fun"] == "state.sls") == [
        "hastack.horizon", "hastack.keystone", "hastack.nova", "hastack.placement"]
    for host in ("ctl1", "ctl2", "ctl3"):
        assert f"hastack-deploy-keystone-{host}-drained" in high


# ------------------------------------------------------------ validation
@pytest.mark.parametrize("password, refused", [
    ("plain-Password_0123.~", False), ("p@ss/word:0123456789", True), ("percent%41-0123456789", True)])
def test_nova_db_password_must_survive_map_cell0(mod, repo_root, password, refused):
    defaults, tier_docs, os_family = mod.read_layers(repo_root / "hastack")
    hastack = dict(copy.deepcopy(CONVERGED_C), secrets=dict(SECRETS, db_nova=password))
    errors = mod.check_pillar({"hastack": hastack}, defaults, os_family, tier_docs)
    assert bool([e for e in errors if e.startswith("hastack:secrets:db_nova may hold only")]) is refused
    assert not any(password in error for error in errors)


def test_compute_hosts_need_api_and_mq_hosts(mod, repo_root):
    defaults, tier_docs, os_family = mod.read_layers(repo_root / "hastack")
    hastack = dict(copy.deepcopy(CONVERGED_C), secrets=dict(SECRETS))
    assert mod.check_pillar({"hastack": hastack}, defaults, os_family, tier_docs) == []
    hastack["roles"]["mq"] = []
    errors = mod.check_pillar({"hastack": hastack}, defaults, os_family, tier_docs)
    assert "role compute has members (ctl1, ctl2, ctl3) but role mq has none" in errors


def test_lab_layouts_give_api_dashboard_and_compute_and_validate(mod, repo_root):
    from hastack_lab.lab import Lab  # noqa: PLC0415

    defaults, tier_docs, os_family = mod.read_layers(repo_root / "hastack")
    lab_pillar = yaml.safe_load((repo_root / "lab" / "pillar" / "lab.sls").read_text())["hastack"]
    assert lab_pillar["compute"]["driver"] == "fake.FakeDriver"
    for layout in ("converged", "two-host"):
        lab = Lab(layout=layout)
        roles = lab.layout_roles()
        full = lab.hosts if layout == "converged" else lab.hosts[:-1]
        for role in ("api", "dashboard", "compute"):
            assert roles[role] == full, (layout, role)
        hastack = dict(copy.deepcopy(lab_pillar), network={"cidr": lab.subnet, "vip": lab.vip},
                       hosts={h: {"ip": lab.host_ip(h)} for h in lab.hosts}, roles=roles)
        config = mod.merge_config(defaults, hastack, os_family, tier_docs)
        hastack["secrets"] = {name: uuid.uuid4().hex for name in mod.all_secret_names(config)}
        assert mod.check_pillar({"hastack": hastack}, defaults, os_family, tier_docs) == [], layout


# ------------------------------------------------------------ pure helpers
def test_alembic_heads_and_current_revision(api):
    scripts = ["revision = 'a1'\ndown_revision = None\n", 'revision: str = "b2"\ndown_revision = "a1"\n',
               "revision = 'c3'\ndown_revision = ('a1',)\n", "revision = 'd4'\ndown_revision = ('b2', 'c3')\n"]
    assert api.alembic_heads(scripts) == ["d4"]
    assert api.alembic_heads(scripts[:3]) == ["b2", "c3"]
    assert api.current_revision("log line\nd4\n") == "d4"
    assert api.current_revision("None\n") == "" and api.current_revision("") == ""


def test_http_status_ok(api):
    assert [status for status in (0, 200, 204, 300, 302, 400, 401, 500, 503) if api.http_status_ok(status)] == [
        200, 204, 300, 302]


def test_cell_listed(api):
    table = ("+-------+--------------------------------------+---------+\n"
             "|  Name |                 UUID                 | Disabled |\n"
             "+-------+--------------------------------------+---------+\n"
             "| cell0 | 00000000-0000-0000-0000-000000000000 |  False  |\n"
             "| cell1 | 6f5a3c7e-1c2b-11ef-8a6f-2e1f3c4d5e6f |  False  |\n")
    assert api.cell_listed(table, "cell0") and api.cell_listed(table, "cell1")
    assert not api.cell_listed(table, "cell2") and not api.cell_listed("", "cell0")


def test_schema_synced_compares_the_database_with_the_package_head(api, tmp_path):
    (tmp_path / "a.py").write_text("revision = 'a1'\ndown_revision = None\n")
    (tmp_path / "b.py").write_text("revision = 'b2'\ndown_revision = 'a1'\n")
    answers = {"stdout": "b2\n", "retcode": 0}
    calls = []

    def run_all(cmd, **kwargs):
        calls.append((cmd, kwargs))
        return dict(answers)
    api.__salt__ = {"cmd.run_all": run_all}
    assert api.schema_synced("placement-manage db version", str(tmp_path), "placement") is True
    assert calls[-1][1]["runas"] == "placement" and calls[-1][1]["output_loglevel"] == "quiet"
    answers["stdout"] = "a1\n"
    assert api.schema_synced("placement-manage db version", str(tmp_path), "placement") is False
    answers.update(stdout="", retcode=1)
    assert api.schema_synced("placement-manage db version", str(tmp_path), "placement") is False


def test_endpoint_changes(ks):
    url, region = f"http://{VIP}:8778", "RegionOne"
    endpoints = [{"id": i, "interface": i, "url": url, "region_id": region} for i in ("public", "internal", "admin")]
    assert ks.endpoint_changes(endpoints, url, region) == {"create": [], "update": {}}
    endpoints[1]["url"] = "http://10.250.0.11:8778"
    assert ks.endpoint_changes(endpoints[:2], url + "/", region) == {"create": ["admin"],
                                                                    "update": {"internal": "internal"}}
    assert ks.endpoint_changes([], url, region)["create"] == ["public", "internal", "admin"]


# ------------------------------------------------------------ registration
ADMIN = "admin-secret-0123456789"


class FakeKeystone(http.server.BaseHTTPRequestHandler):
    """Just enough of keystone's v3 API for register(), in memory; records every request body."""

    db = {}
    bodies = []

    @classmethod
    def reset(cls):
        cls.db = {"domains": [{"id": "default", "name": "Default"}], "roles": [{"id": "r-admin", "name": "admin"}],
                  "projects": [{"id": "p-admin", "name": "admin", "domain_id": "default"}],
                  "users": [{"id": "u-admin", "name": "admin", "domain_id": "default", "password": ADMIN}],
                  "services": [], "endpoints": [], "assignments": set()}
        cls.bodies = []

    def _send(self, status, body=None, headers=None):
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        text = self.rfile.read(length).decode() if length else ""
        self.bodies.append(text)
        return json.loads(text) if text else {}

    def _authorized(self):
        return self.headers.get("X-Auth-Token") == "admin-token"

    def do_POST(self):  # noqa: N802
        body = self._body()
        path = self.path.split("?")[0]
        if path == "/v3/auth/tokens":
            wanted = body["auth"]["identity"]["password"]["user"]
            user = next((u for u in self.db["users"] if u["name"] == wanted["name"]), None)
            if not user or user["password"] != wanted["password"]:
                return self._send(401, {})
            return self._send(201, {"token": {}}, {"X-Subject-Token": "admin-token" if user["name"] == "admin"
                                                   else "user-token"})
        if not self._authorized():
            return self._send(401, {})
        collection = path.split("/")[2]
        kind = collection[:-1]
        item = dict(body[kind], id=f"{kind}-{len(self.db[collection])}")
        self.db[collection].append(item)
        self._send(201, {kind: {k: v for k, v in item.items() if k != "password"}})

    def do_GET(self):  # noqa: N802
        if not self._authorized():
            return self._send(401, {})
        path, _, query = self.path.partition("?")
        collection = path.split("/")[2]
        filters = dict(part.split("=", 1) for part in query.split("&") if part)
        items = [{k: v for k, v in item.items() if k != "password"} for item in self.db[collection]
                 if all(str(item.get(k)) == v for k, v in filters.items())]
        self._send(200, {collection: items})

    def do_HEAD(self):  # noqa: N802
        parts = self.path.split("/")
        self._send(204 if (parts[3], parts[5], parts[7]) in self.db["assignments"] else 404)

    def do_PUT(self):  # noqa: N802
        parts = self.path.split("/")
        self.db["assignments"].add((parts[3], parts[5], parts[7]))
        self._send(204)

    def do_PATCH(self):  # noqa: N802
        body = self._body()
        _, _, collection, ident = self.path.split("/")[:4]
        kind = collection[:-1]
        item = next(i for i in self.db[collection] if i["id"] == ident)
        item.update(body[kind])
        self._send(200, {kind: {}})

    def log_message(self, *args):
        pass


@pytest.fixture
def keystone_server():
    FakeKeystone.reset()
    server = http.server.HTTPServer(("127.0.0.1", 0), FakeKeystone)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v3"
    server.shutdown()


def spec(url=f"http://{VIP}:8778"):
    return {"name": "placement", "type": "placement", "description": "Placement API", "url": url,
            "region": "RegionOne", "user": "placement", "project": "service", "role": "admin", "domain": "Default",
            "admin_user": "admin", "admin_project": "admin"}


def test_register_is_idempotent_and_never_returns_a_password(ks, keystone_server):
    password = "placement-secret-0123456789"
    # Test mode first: says what would change, writes nothing.
    planned = ks.register(ks.Keystone(keystone_server), ADMIN, spec(), password, test=True)
    assert set(planned) == {"project", "user", "role", "service", "endpoints"}
    assert FakeKeystone.db["services"] == [] and len(FakeKeystone.db["users"]) == 1
    changes = ks.register(ks.Keystone(keystone_server), ADMIN, spec(), password)
    assert changes == planned
    assert changes["endpoints"] == {i: f"http://{VIP}:8778" for i in ("public", "internal", "admin")}
    assert sorted((e["interface"], e["region_id"]) for e in FakeKeystone.db["endpoints"]) == [
        ("admin", "RegionOne"), ("internal", "RegionOne"), ("public", "RegionOne")]
    # A second run changes nothing.
    assert ks.register(ks.Keystone(keystone_server), ADMIN, spec(), password) == {}
    # A new password in pillar is set; a moved endpoint is updated, not duplicated.
    changes = ks.register(ks.Keystone(keystone_server), ADMIN, spec(f"http://{VIP}:18778"), password + "x")
    assert changes == {"user": "password set",
                       "endpoints": {i: f"http://{VIP}:18778" for i in ("public", "internal", "admin")}}
    assert len(FakeKeystone.db["endpoints"]) == 3
    assert ks.register(ks.Keystone(keystone_server), ADMIN, spec(f"http://{VIP}:18778"), password + "x") == {}
    # Passwords travel only in request bodies, never back.
    assert any(password in body for body in FakeKeystone.bodies)
    assert password not in repr(changes) and ADMIN not in repr(changes)


def test_register_refuses_a_wrong_admin_password(ks, keystone_server):
    with pytest.raises(Exception, match="refused the admin") as error:
        ks.register(ks.Keystone(keystone_server), "wrong-0123456789", spec(), "pw-0123456789")
    assert "wrong-0123456789" not in str(error.value)


def test_register_service_reads_unmasked_passwords(ks, keystone_server):
    asked = []

    def pillar_get(key, default="", unmask=False):
        asked.append((key, unmask))
        real = {"hastack:secrets:keystone_admin": ADMIN, "hastack:secrets:service_nova": "nova-secret-0123456789"}
        return real.get(key, default) if unmask else "**********"
    ks.__salt__ = {"pillar.get": pillar_get,
                   "hastack.mapdata": lambda: {"keystone": {"url": keystone_server, "region": "RegionOne"}}}
    changes = ks.register_service("nova", "compute", f"http://{VIP}:8774/v2.1", "nova",
                                  "hastack:secrets:service_nova", description="OpenStack Compute")
    assert changes["service"] == "created"
    assert asked == [("hastack:secrets:keystone_admin", True), ("hastack:secrets:service_nova", True)]


@pytest.mark.parametrize("test_mode, changes, result", [
    (False, {}, True), (True, {}, True), (False, {"service": "created"}, True), (True, {"service": "created"}, None)])
def test_service_registered_state(test_mode, changes, result):
    states = load_salt_module("_states", "hastack_keystone")
    seen = {}

    def register_service(*args, **kwargs):
        seen.update(kwargs)
        return dict(changes)
    states.__salt__ = {"hastack_keystone.register_service": register_service}
    states.__opts__ = {"test": test_mode}
    ret = states.service_registered("placement", "placement", f"http://{VIP}:8778", "placement",
                                    "hastack:secrets:service_placement")
    assert set(ret) == {"name", "result", "comment", "changes"}
    assert ret["result"] is result and ret["changes"] == changes
    assert seen["test"] is test_mode


def test_service_registered_state_reports_a_failure_without_secrets():
    from salt.exceptions import CommandExecutionError  # noqa: PLC0415

    states = load_salt_module("_states", "hastack_keystone")

    def fail(*args, **kwargs):
        raise CommandExecutionError("no password in pillar hastack:secrets:service_placement")
    states.__salt__ = {"hastack_keystone.register_service": fail}
    states.__opts__ = {"test": False}
    ret = states.service_registered("placement", "placement", "u", "placement", "hastack:secrets:service_placement")
    assert ret["result"] is False and re.search("hastack:secrets:service_placement", ret["comment"])
