"""
The keystone tier rendered from pillar without a lab: the derived facts
(endpoint at the VIP, database connection, memcached servers, key
repositories identical on every api host), keystone.conf, the init script's
settings and uwsgi ini, the sls files (modes, no secret outside its file),
the deploy orchestration and the validation.
"""

import base64
import configparser
import copy
import json
import logging

import pytest
from saltmod_loader import load_salt_module
from test_galera_orch_render import SECRETS, orch  # noqa: F401 (fixture)
from test_galera_render import show_sls, template  # noqa: F401 (fixture)
from test_map_render import CONVERGED, SPLIT, render, repo_root_module  # noqa: F401 (fixtures)

SEED = SECRETS["keystone_fernet_seed"]


def pillar(layout, **extra):
    hastack = copy.deepcopy(layout)
    hastack["secrets"] = dict(SECRETS)
    hastack.update(extra)
    return {"hastack": hastack}


def keystone_conf(mapdata):
    text = template("keystone/files/keystone.conf.jinja").render(
        keystone=mapdata["keystone"], memcache_servers=mapdata["keystone"]["memcache_servers"],
        db_connection=mapdata["keystone_secrets"]["db_connection"])
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


@pytest.fixture
def mod():
    return load_salt_module("_modules", "hastack")


@pytest.fixture
def ks():
    return load_salt_module("_modules", "hastack_keystone")


# ------------------------------------------------------------ derived facts
@pytest.mark.parametrize("layout, minion, socket, cache", [
    (CONVERGED, "ctl2", "10.250.0.12:5000", ["10.250.0.11:11211", "10.250.0.12:11211", "10.250.0.13:11211"]),
    (SPLIT, "api2", "10.250.0.27:5000", ["10.250.0.26:11211", "10.250.0.27:11211"]),
])
def test_keystone_conf_points_at_the_vip_and_every_cache_host(render, layout, minion, socket, cache):
    mapdata = render(pillar(layout), minion_id=minion)
    assert "keystone" in mapdata["my_tiers"]
    keystone = mapdata["keystone"]
    assert keystone["url"] == "http://10.250.0.10:5000/v3"
    assert keystone["http_socket"] == socket
    assert keystone["memcache_servers"] == cache
    conf = keystone_conf(mapdata)
    assert conf["database"]["connection"] == (
        f"mysql+pymysql://keystone:{SECRETS['db_keystone']}@10.250.0.10:3306/keystone?charset=utf8mb4")
    assert (conf["database"]["max_pool_size"], conf["database"]["max_overflow"]) == ("5", "10")
    assert conf["cache"]["memcache_servers"] == ",".join(cache)
    assert conf["cache"]["backend"] == "oslo_cache.memcache_pool"
    assert conf["cache"]["enabled"] == "true"
    assert conf["token"]["provider"] == "fernet"
    assert conf["fernet_tokens"]["key_repository"] == "/etc/keystone/fernet-keys"
    assert conf["credential"]["key_repository"] == "/etc/keystone/credential-keys"


def test_no_cache_host_switches_the_cache_off(render):
    layout = copy.deepcopy(SPLIT)
    layout["roles"]["cache"] = []
    conf = keystone_conf(render(pillar(layout), minion_id="api2"))
    assert conf["cache"]["enabled"] == "false"


def test_db_password_is_url_quoted(render):
    secrets = dict(SECRETS, db_keystone="p@ss/word:0123456789")
    mapdata = render({"hastack": dict(copy.deepcopy(CONVERGED), secrets=secrets)})
    assert "keystone:p%40ss%2Fword%3A0123456789@10.250.0.10" in mapdata["keystone_secrets"]["db_connection"]


def test_init_script_settings_bind_the_stack_ip_only(render):
    mapdata = render(pillar(CONVERGED), minion_id="ctl3")
    text = template("keystone/files/default-keystone.jinja").render(
        http_socket=mapdata["keystone"]["http_socket"], uwsgi_ini=mapdata["keystone"]["uwsgi_ini"])
    assert 'DAEMON_ARGS="--http-socket 10.250.0.13:5000 --ini /etc/keystone/keystone-uwsgi.ini"' in text


@pytest.mark.parametrize("profile, plugins", [("keystone", "python3,apparmor"), ("", "python3")])
def test_uwsgi_ini_workers_from_settings(render, profile, plugins):
    mapdata = render(pillar(CONVERGED, keystone={"uwsgi": {"processes": 3, "apparmor_profile": profile}}))
    keystone = mapdata["keystone"]
    text = template("keystone/files/keystone-uwsgi.ini.jinja").render(
        uwsgi=keystone["uwsgi"], logfile=keystone["logfile"], user="keystone", group="keystone",
        wsgi_file=keystone["wsgi_file"])
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(text)
    assert ini["uwsgi"]["processes"] == "3" and ini["uwsgi"]["threads"] == "8"
    assert ini["uwsgi"]["plugins"] == plugins
    assert ("apparmor-profile" in ini["uwsgi"]) is bool(profile)
    # An app that cannot load ends the server (seen down, started again), never a server answering 500.
    assert ini["uwsgi"]["need-app"] == "true" and ini["uwsgi"]["lazy-apps"] == "true"
    # The socket is the init script's (DAEMON_ARGS); a second one here would bind twice.
    assert "http-socket" not in ini["uwsgi"] and "socket" not in ini["uwsgi"]


# ------------------------------------------------------------ key repositories
def test_key_repository_layout_and_rotation(mod):
    first = mod.key_repository(SEED, "fernet_tokens", 1, 3)
    assert sorted(first) == ["0", "1"]
    for key in first.values():
        assert len(base64.urlsafe_b64decode(key)) == 32
    second = mod.key_repository(SEED, "fernet_tokens", 2, 3)
    assert sorted(second) == ["0", "1", "2"]
    # The staged key becomes the primary under its new number, the primary stays as a secondary.
    assert second["2"] == first["0"] and second["1"] == first["1"]
    third = mod.key_repository(SEED, "fernet_tokens", 3, 3)
    assert sorted(third) == ["0", "2", "3"]
    assert third["3"] == second["0"] and third["2"] == second["2"]
    # The same seed and generation give the same keys; another seed or label other keys.
    assert mod.key_repository(SEED, "fernet_tokens", 3, 3) == third
    assert set(mod.key_repository("other-seed-0123456789", "fernet_tokens", 3, 3).values()).isdisjoint(third.values())
    assert set(mod.key_repository(SEED, "credential", 3, 3).values()).isdisjoint(third.values())
    assert mod.key_repository(SEED, "fernet_tokens", 5, 4) == {
        name: mod.derive_key(SEED, "fernet_tokens", number)
        for name, number in (("0", 6), ("5", 5), ("4", 4), ("3", 3))}


@pytest.mark.parametrize("seed, generation, max_active", [("", 1, 3), (SEED, 0, 3), (SEED, 1, 1), (SEED, True, 3)])
def test_unusable_key_settings_give_no_keys(mod, seed, generation, max_active):
    assert mod.key_repository(seed, "fernet_tokens", generation, max_active) == {}


def test_every_api_host_derives_the_same_keys(render):
    seen = [render(pillar(SPLIT), minion_id=minion)["keystone_secrets"]["keys"] for minion in ("api1", "api2")]
    assert seen[0] == seen[1]
    assert sorted(seen[0]["fernet"]) == ["0", "1"] and sorted(seen[0]["credential"]) == ["0", "1"]


# ------------------------------------------------------------ sls rendering
DB_CONNECTION = f"mysql+pymysql://keystone:{SECRETS['db_keystone']}@10.250.0.10:3306/keystone?charset=utf8mb4"


@pytest.mark.parametrize("layout, minion", [(CONVERGED, "ctl1"), (SPLIT, "api2")])
def test_keystone_sls_modes_and_secrets_only_in_their_files(show_sls, mod, layout, minion):
    high = show_sls("hastack.keystone", pillar(layout), minion_id=minion)
    keys = {repo: mod.key_repository(SEED, section, 1, 3)
            for repo, section in (("fernet", "fernet_tokens"), ("credential", "credential"))}

    conf = high["hastack-keystone-config-file-managed"]["args"]
    assert (conf["user"], conf["group"], conf["mode"], conf["show_changes"]) == ("root", "keystone", "0640", False)
    assert conf["context"]["db_connection"] == DB_CONNECTION
    for repo, directory in (("fernet", "/etc/keystone/fernet-keys"), ("credential", "/etc/keystone/credential-keys")):
        assert sorted(sid for sid in high if sid.startswith(f"hastack-keystone-keys-{repo}-")) == sorted(
            [f"hastack-keystone-keys-{repo}-{name}-file-managed" for name in keys[repo]]
            + [f"hastack-keystone-keys-{repo}-directory-managed"])
        for name, key in keys[repo].items():
            args = high[f"hastack-keystone-keys-{repo}-{name}-file-managed"]["args"]
            assert args["name"] == f"{directory}/{name}"
            assert (args["user"], args["mode"], args["show_changes"]) == ("keystone", "0600", False)
            assert args["contents"] == key and args["contents_newline"] is False
        repo_dir = high[f"hastack-keystone-keys-{repo}-directory-managed"]["args"]
        assert (repo_dir["name"], repo_dir["mode"], repo_dir["clean"]) == (directory, "0700", True)
    debconf = high["hastack-keystone-package-debconf-present"]["args"]["data"]
    assert {question: answer["value"] for question, answer in debconf.items()} == {
        "keystone/configure_db": False, "keystone/create-admin-tenant": False, "keystone/register-endpoint": False}
    assert high["hastack-keystone-package-default-file-managed"]["args"]["mode"] == "0644"
    assert high["hastack-keystone-service-running"]["args"]["name"] == "keystone"

    # Every secret value sits in the one state that writes its file, nowhere else.
    owner = {SECRETS["db_keystone"]: {"hastack-keystone-config-file-managed"}}
    for repo in keys:
        for name, key in keys[repo].items():
            owner[key] = {f"hastack-keystone-keys-{repo}-{name}-file-managed"}
    for secret in [SECRETS["keystone_admin"], SEED, *owner]:
        holders = {sid for sid, body in high.items() if secret in json.dumps(body["args"])}
        assert holders == owner.get(secret, set()), secret[:4]
        assert not any(secret in sid for sid in high)


def test_bootstrap_sls_guards_and_keeps_the_password_off_the_command_line(show_sls):
    high = show_sls("hastack.keystone.bootstrap", pillar(CONVERGED), minion_id="ctl1")
    sync = high["hastack-keystone-bootstrap-database-synced"]["args"]
    assert sync["name"] == "keystone-manage db_sync" and sync["unless"] == "keystone-manage db_sync --check"
    assert sync["runas"] == "keystone"
    boot = high["hastack-keystone-bootstrap-admin-present"]["args"]
    assert boot["env"] == {"OS_BOOTSTRAP_PASSWORD": SECRETS["keystone_admin"]}
    assert SECRETS["keystone_admin"] not in boot["name"]
    assert boot["unless"] == [{"fun": "hastack_keystone.bootstrapped"}]
    for interface in ("admin", "internal", "public"):
        assert f"--bootstrap-{interface}-url http://10.250.0.10:5000/v3" in boot["name"]
    assert "--bootstrap-region-id RegionOne" in boot["name"]


def test_clean_sls_removes_configs_and_keys(show_sls):
    high = show_sls("hastack.keystone.clean", pillar(CONVERGED), minion_id="ctl1")
    names = high["hastack-keystone-clean-files-absent"]["args"]["names"]
    assert {"/etc/keystone/keystone.conf", "/etc/default/keystone", "/etc/keystone/fernet-keys",
            "/etc/keystone/credential-keys"} <= set(names)
    assert "hastack-keystone-clean-package-removed" not in high


# ------------------------------------------------------------ orchestration
# A keystone serves (ctl2 answers its health function): the tier is rolled one host at a time.
KEYSTONE_SERVING = {"hastack_keystone.is_healthy": {"ctl1": {"ret": False, "retcode": 0},
                                                    "ctl2": {"ret": True, "retcode": 0}}}


def test_deploy_bootstraps_once_on_the_first_host_then_one_host_at_a_time(orch):
    high, _calls = orch("orch.deploy", {"hastack": dict(copy.deepcopy(CONVERGED), secrets=dict(SECRETS))},
                        KEYSTONE_SERVING)
    steps = {sid: body for sid, body in high.items() if sid.startswith("hastack-deploy-keystone-")}
    assert high["hastack-deploy-keystone-bootstrapped"]["args"]["tgt"] == "ctl1"
    assert high["hastack-deploy-keystone-bootstrapped"]["args"]["sls"] == "hastack.keystone.bootstrap"
    assert [sid for sid, body in steps.items() if body["args"].get("sls") == "hastack.keystone.bootstrap"] == [
        "hastack-deploy-keystone-bootstrapped"]
    # Each host: taken out of the keystone backend only, applied, healthy, put back; then the next.
    assert high["hastack-deploy-keystone-ctl1-drained"]["args"]["require"] == [
        {"test": "hastack-deploy-keystone-started"}]
    assert high["hastack-deploy-keystone-ctl1-drained"]["args"]["kwarg"]["backends"] == ["keystone"]
    assert high["hastack-deploy-keystone-ctl1-applied"]["args"]["sls"] == ["hastack.keystone"]
    assert high["hastack-deploy-keystone-bootstrapped"]["args"]["require"] == [
        {"salt": "hastack-deploy-keystone-ctl1-up"}]
    assert high["hastack-deploy-keystone-ctl2-drained"]["args"]["require"] == [
        {"salt": "hastack-deploy-keystone-bootstrapped"}]
    assert high["hastack-deploy-keystone-ctl3-drained"]["args"]["require"] == [
        {"salt": "hastack-deploy-keystone-ctl2-up"}]
    assert high["hastack-deploy-keystone-rolled-out"]["args"]["require"] == [
        {"salt": "hastack-deploy-keystone-ctl3-up"}]
    assert not any(secret in json.dumps(high) for secret in SECRETS.values())


def test_deploy_leaves_a_host_alone_whose_dry_run_predicts_no_change(orch):
    settled = {"ret": {"file_|-a_|-a_|-managed": {"result": True, "changes": {}}}, "retcode": 0}
    pending = {"ret": {"file_|-a_|-a_|-managed": {"result": None, "changes": {"diff": "..."}}}, "retcode": 0}
    # ctl1 settled, ctl2 would change, ctl3 does not answer.
    high, calls = orch("orch.deploy", {"hastack": dict(copy.deepcopy(CONVERGED), secrets=dict(SECRETS))},
                       {"state.sls": {"ctl1": settled, "ctl2": pending}, **KEYSTONE_SERVING})
    dry_run = [c for c in calls if c["fun"] == "state.sls" and c["arg"] == ["hastack.keystone"]]
    assert len(dry_run) == 1 and dry_run[0]["tgt"] == ["ctl1", "ctl2", "ctl3"]
    assert dry_run[0]["kwarg"] == {"test": True}
    assert "hastack-deploy-keystone-ctl1-drained" not in high
    assert "hastack-deploy-keystone-ctl1-applied" not in high
    assert high["hastack-deploy-keystone-ctl1-unchanged"]["function"] == "test.succeed_without_changes"
    # The one-time steps still follow the first host; the others are rolled as before.
    assert high["hastack-deploy-keystone-bootstrapped"]["args"]["require"] == [
        {"test": "hastack-deploy-keystone-ctl1-unchanged"}]
    for host in ("ctl2", "ctl3"):
        assert high[f"hastack-deploy-keystone-{host}-drained"]["args"]["name"] == "hastack_haproxy.take_out"
        assert high[f"hastack-deploy-keystone-{host}-applied"]["args"]["sls"] == ["hastack.keystone"]
    assert high["hastack-deploy-keystone-rolled-out"]["args"]["require"] == [
        {"salt": "hastack-deploy-keystone-ctl3-up"}]


def test_rollout_visits_api_hosts_one_at_a_time_draining_only_their_api_backends(orch):
    high, _calls = orch("orch.rollout", {"hastack": dict(copy.deepcopy(CONVERGED), secrets=dict(SECRETS))}, {})
    hosts = ["ctl1", "ctl2", "ctl3"]
    previous = {"hastack": "hastack-rollout-pillar-validated"}
    for host in hosts:
        drained = high[f"hastack-rollout-{host}-drained"]["args"]
        assert drained["require"] == [previous]
        assert drained["name"] == "hastack_haproxy.take_out"
        # Galera shares these hosts: its backend keeps its traffic.
        assert drained["kwarg"]["backends"] == ["keystone", "horizon", "placement", "nova", "nova_metadata"]
        assert high[f"hastack-rollout-{host}-applied"]["args"]["sls"] == [
            "hastack.keystone", "hastack.horizon", "hastack.placement", "hastack.nova"]
        for function in ("hastack_keystone.is_healthy", "hastack_api.horizon_healthy",
                         "hastack_api.placement_healthy", "hastack_api.nova_healthy"):
            healthy = high[f"hastack-rollout-{host}-{function}-healthy"]["args"]
            assert healthy["tgt"] == host and healthy["require_in"] == [{"salt": f"hastack-rollout-{host}-up"}]
        assert high[f"hastack-rollout-{host}-up"]["args"]["name"] == "hastack_haproxy.put_back"
        previous = {"salt": f"hastack-rollout-{host}-up"}
    assert not any(secret in json.dumps(high) for secret in SECRETS.values())


def test_rollout_renders_nothing_but_the_refusal_for_a_bad_pillar(orch):
    bad = dict(copy.deepcopy(CONVERGED), secrets=dict(SECRETS, keystone_admin="CHANGE_ME"))
    high, _calls = orch("orch.rollout", {"hastack": bad}, {})
    assert list(high) == ["hastack-rollout-pillar-validated"]


def test_rotate_checks_every_host_then_writes_keys_one_host_at_a_time(orch):
    high, _calls = orch("orch.keystone.rotate", {"hastack": dict(copy.deepcopy(CONVERGED), secrets=dict(SECRETS))}, {})
    check = high["hastack-keystone-rotate-generations-checked"]["args"]
    assert check["tgt"] == ["ctl1", "ctl2", "ctl3"] and check["failhard"] is True
    assert high["hastack-keystone-rotate-ctl1-keys-written"]["args"]["require"] == [
        {"salt": "hastack-keystone-rotate-generations-checked"}]
    assert high["hastack-keystone-rotate-ctl3-keys-written"]["args"]["require"] == [
        {"salt": "hastack-keystone-rotate-ctl2-keys-written"}]
    assert high["hastack-keystone-rotate-ctl3-keys-written"]["args"]["sls"] == "hastack.keystone.keys"
    assert high["hastack-keystone-rotate-credentials-migrated"]["args"]["tgt"] == "ctl1"


# ------------------------------------------------------------ validation
@pytest.mark.parametrize("missing", ["keystone_admin", "keystone_fernet_seed", "db_keystone"])
def test_missing_keystone_secret_is_rejected_by_name(mod, repo_root, missing):
    defaults, tier_docs, os_family = mod.read_layers(repo_root / "hastack")
    hastack = copy.deepcopy(SPLIT)
    hastack["secrets"] = {name: value for name, value in SECRETS.items() if name != missing}
    errors = mod.check_pillar({"hastack": hastack}, defaults, os_family, tier_docs)
    assert any(error.startswith(f"hastack:secrets:{missing} is missing") and "api" in error for error in errors)
    assert not any(value in error for error in errors for value in SECRETS.values())


@pytest.mark.parametrize("keystone, message", [
    ({"fernet_tokens": {"generation": 0}},
     "hastack:keystone:fernet_tokens:generation must be an integer of at least 1"),
    ({"credential": {"max_active_keys": 1}},
     "hastack:keystone:credential:max_active_keys must be an integer of at least 2"),
])
def test_bad_key_settings_are_rejected(mod, repo_root, keystone, message):
    defaults, tier_docs, os_family = mod.read_layers(repo_root / "hastack")
    hastack = dict(copy.deepcopy(CONVERGED), secrets=dict(SECRETS), keystone=keystone)
    errors = mod.check_pillar({"hastack": hastack}, defaults, os_family, tier_docs)
    assert any(error.startswith(message) for error in errors), errors


def test_api_hosts_need_a_vip(mod, repo_root):
    defaults, tier_docs, os_family = mod.read_layers(repo_root / "hastack")
    hastack = dict(copy.deepcopy(CONVERGED), secrets=dict(SECRETS))
    del hastack["roles"]["lb"]
    hastack["network"] = dict(hastack["network"], vip="")
    errors = mod.check_pillar({"hastack": hastack}, defaults, os_family, tier_docs)
    assert errors == ["hastack:network:vip is missing but role api has members (ctl1, ctl2, ctl3): keystone is "
                      "reached, and reaches its database, through the VIP (role lb)"]


# ------------------------------------------------------------ runtime helpers
def test_identity_endpoints_missing(ks):
    url, region = "http://10.250.0.10:5000/v3", "RegionOne"
    catalog = [{"type": "identity", "endpoints": [
        {"interface": i, "url": url, "region_id": region} for i in ("public", "internal", "admin")]}]
    assert ks.identity_endpoints_missing(catalog, url, region) == []
    catalog[0]["endpoints"][2]["url"] = "http://10.250.0.11:5000/v3"
    assert ks.identity_endpoints_missing(catalog, url, region) == ["admin"]
    assert ks.identity_endpoints_missing(None, url, region) == ["public", "internal", "admin"]


def test_bootstrapped_answers_false_without_a_password_and_never_logs_it(ks):
    records = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = lambda record: records.append(record.getMessage())
    ks.log.addHandler(handler)
    ks.log.setLevel(logging.DEBUG)
    ks.__context__ = {"hastack_keystone.settings": {"local_url": "http://127.0.0.1:9/v3", "url": "u",
                                                    "region": "RegionOne", "admin_user": "admin",
                                                    "admin_project": "admin"}}
    try:
        ks.__salt__ = {"pillar.get": lambda key, default="", unmask=False: ""}
        assert ks.bootstrapped() is False
        # Salt masks a secret unless unmask=True: the check must ask for the real one.
        ks.__salt__ = {"pillar.get": lambda key, default="", unmask=False:
                       "admin-secret-0123456789" if unmask else "**** (masked)"}
        assert ks.bootstrapped(timeout=1) is False  # nothing listens on port 9
    finally:
        ks.log.removeHandler(handler)
    assert records and not any("admin-secret-0123456789" in line for line in records)


# ------------------------------------------------------------ key rotation
@pytest.mark.parametrize("names, generation", [
    (["0", "3", "2", "1"], 3), (["0", "1"], 1), ([], 0), (["0", ".tmp"], 0)])
def test_held_generation_is_the_primary_key_number(ks, names, generation):
    assert ks.held_generation(names) == generation


@pytest.mark.parametrize("held, wanted, refused", [
    (0, 5, ""),      # a new host starts where pillar says
    (4, 5, ""),      # one step: the new primary is everybody's staged key
    (5, 5, ""),      # already there (a re-run)
    (3, 5, "one generation at a time"),
    (6, 5, "newer than the 5"),
])
def test_rotation_is_refused_unless_one_step(ks, held, wanted, refused):
    reason = ks.rotation_refusal(held, wanted)
    assert (refused in reason) if refused else reason == ""
    assert bool(reason) == bool(refused)


def test_one_rotation_keeps_every_key_a_host_one_generation_behind_uses(mod):
    """Tokens from a rotated host validate on one not yet rotated and back (fernet layout)."""
    old = mod.key_repository(SEED, "fernet_tokens", 4, 3)
    new = mod.key_repository(SEED, "fernet_tokens", 5, 3)
    assert new["5"] == old["0"]                      # the new primary was staged everywhere
    assert old["4"] in new.values()                  # the old primary is a secondary now
    assert set(new.values()) & set(old.values()) == {old["0"], old["4"]}
    two_steps = mod.key_repository(SEED, "fernet_tokens", 6, 3)
    assert old["4"] not in two_steps.values()        # why a jump of two is refused


def test_rotation_check_refuses_a_host_two_generations_behind(ks, tmp_path):
    fernet, credential = tmp_path / "fernet", tmp_path / "credential"
    for path, names in ((fernet, ["0", "3", "2"]), (credential, ["0", "1"])):
        path.mkdir()
        for name in names:
            (path / name).write_text("k")
    repositories = {"fernet": {"path": str(fernet), "generation": 5},
                    "credential": {"path": str(credential), "generation": 2}}
    ks.__salt__ = {"hastack.mapdata": lambda: {"keystone": {"key_repositories": repositories}}}
    with pytest.raises(Exception, match=r"fernet keys .*holds generation 3; pillar asks for 5"):
        ks.rotation_check()
    repositories["fernet"]["generation"] = 4
    assert ks.rotation_check() == {"credential": {"held": 1, "wanted": 2}, "fernet": {"held": 3, "wanted": 4}}


def test_bootstrapped_sends_the_unmasked_admin_password(ks):
    """Salt 3008 masks pillar secrets: a check that sent the mask would answer False forever."""
    import http.server
    import threading

    url = "http://10.250.0.10:5000/v3"
    catalog = [{"type": "identity", "endpoints": [
        {"interface": i, "url": url, "region_id": "RegionOne"} for i in ("public", "internal", "admin")]}]

    class Keystone(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ok = body["auth"]["identity"]["password"]["user"]["password"] == "admin-secret-0123456789"
            self.send_response(201 if ok else 401)
            self.end_headers()
            if ok:
                self.wfile.write(json.dumps({"token": {"catalog": catalog}}).encode())

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Keystone)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ks.__context__ = {"hastack_keystone.settings": {
            "local_url": f"http://127.0.0.1:{server.server_port}/v3", "url": url, "region": "RegionOne",
            "admin_user": "admin", "admin_project": "admin"}}
        ks.__salt__ = {"pillar.get": lambda key, default="", unmask=False:
                       "admin-secret-0123456789" if unmask else "**********"}
        assert ks.bootstrapped() is True
        catalog[0]["endpoints"].pop()  # no admin endpoint at the VIP: bootstrap has work to do
        assert ks.bootstrapped() is False
    finally:
        server.shutdown()


def test_keystone_without_an_answer_is_an_error_not_a_traceback(ks):
    import socket

    from salt.exceptions import CommandExecutionError

    # A port nobody listens on (bound, never listening): the connection is refused.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        client = ks.Keystone(f"http://127.0.0.1:{port}/v3", timeout=2)
        with pytest.raises(CommandExecutionError) as refused:
            client.request("POST", "/auth/tokens", {"auth": {"password": "admin-secret-0123456789"}})
    message = str(refused.value)
    assert "POST /auth got no answer" in message and "Connection" in message, message
    assert "admin-secret" not in message

    # A server that accepts and never answers: the timeout is the same clear error.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        client = ks.Keystone(f"http://127.0.0.1:{silent.getsockname()[1]}/v3", timeout=0.5)
        with pytest.raises(CommandExecutionError, match=r"GET /users got no answer: .*timed out"):
            client.request("GET", "/users?name=nova")
