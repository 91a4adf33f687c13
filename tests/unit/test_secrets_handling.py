"""How the formula's own code keeps secrets out of command lines, SQL, logs,
returns and diffs (the lab test tests/lab/test_secrets.py proves the whole)."""

import pytest
from conftest import load_salt_module
from salt.exceptions import CommandExecutionError
from test_lb_render import layout
from test_map_render import CONVERGED, defaults, render, repo_root_module  # noqa: F401  (fixtures)

SECRET = "s3cr3t-value-0123456789"


# -------------------------------------------------------------- RabbitMQ
class FakeCtl:
    """cmd.run_all stand-in recording each call; answers by rabbitmqctl subcommand."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def run_all(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        return dict({"retcode": 0, "stdout": "", "stderr": ""}, **self.answers.get(cmd[1], {}))


@pytest.fixture
def rabbit(monkeypatch):
    module = load_salt_module("_modules", "hastack_rabbitmq")

    def install(answers=None):
        fake = FakeCtl(answers or {})
        monkeypatch.setattr(module, "__salt__", {"cmd.run_all": fake.run_all}, raising=False)
        return module, fake
    return install


@pytest.mark.parametrize("exists, command", [(True, "change_password"), (False, "add_user")])
def test_set_password_hands_the_password_over_on_stdin_unlogged(rabbit, exists, command):
    users = '[{"user": "openstack", "tags": []}]' if exists else "[]"
    module, fake = rabbit({"list_users": {"stdout": users}})
    assert module.set_password("openstack", SECRET) == ("changed" if exists else "created")
    cmd, kwargs = fake.calls[-1]
    assert cmd == ["rabbitmqctl", command, "openstack"]
    assert kwargs["stdin"] == SECRET + "\n" and kwargs["output_loglevel"] == "quiet"


def test_check_password_uses_stdin_and_answers_from_the_exit_code(rabbit):
    module, fake = rabbit({"authenticate_user": {"retcode": 65}})
    assert module.check_password("openstack", SECRET) is False
    cmd, kwargs = fake.calls[-1]
    assert SECRET not in " ".join(cmd) and kwargs["stdin"] == SECRET + "\n"


def test_a_failed_secret_command_does_not_echo_the_secret(rabbit):
    module, _fake = rabbit({"list_users": {"stdout": "[]"},
                            "add_user": {"retcode": 70, "stderr": f"Error: bad password {SECRET}"}})
    with pytest.raises(CommandExecutionError) as error:
        module.set_password("openstack", SECRET)
    assert SECRET not in str(error.value) and "**********" in str(error.value)


def test_parse_permissions():
    raw = '[{"vhost": "openstack", "configure": ".*", "write": ".*", "read": "^q"}]'
    module = load_salt_module("_modules", "hastack_rabbitmq")
    assert module.parse_permissions(raw) == {"openstack": [".*", ".*", "^q"]}


@pytest.fixture
def user_state(monkeypatch):
    states = load_salt_module("_states", "hastack_rabbitmq")

    def install(exists=True, password_ok=True, perms=None, test=False, pillar=SECRET):
        calls = []

        def record(name, value=None):
            def call(*args, **kwargs):
                calls.append((name, args))
                return value
            return call
        salt = {
            "pillar.get": lambda key, default=None, unmask=False: pillar if unmask else "**********",
            "hastack_rabbitmq.user_exists": record("exists", exists),
            "hastack_rabbitmq.check_password": record("check", password_ok),
            "hastack_rabbitmq.permissions": record("perms", perms if perms is not None else
                                                   {"openstack": [".*", ".*", ".*"]}),
            "hastack_rabbitmq.set_password": record("set_password", "changed"),
            "hastack_rabbitmq.set_permissions": record("set_permissions", True),
        }
        monkeypatch.setattr(states, "__salt__", salt, raising=False)
        monkeypatch.setattr(states, "__opts__", {"test": test}, raising=False)
        return states, calls
    return install


PERMS = {"openstack": [".*", ".*", ".*"]}


def test_user_in_place_changes_nothing(user_state):
    states, calls = user_state()
    ret = states.user_present("openstack", "hastack:secrets:rabbit_openstack", perms=PERMS)
    assert ret["result"] is True and ret["changes"] == {}
    assert [c[0] for c in calls if c[0].startswith("set")] == []
    # A passing password check is enough to know the user exists.
    assert "exists" not in [c[0] for c in calls]


@pytest.mark.parametrize("test_mode", [False, True])
def test_rotated_password_is_set_and_reported_without_its_value(user_state, test_mode):
    states, calls = user_state(password_ok=False, test=test_mode)
    ret = states.user_present("openstack", "hastack:secrets:rabbit_openstack", perms=PERMS)
    assert ret["changes"] == {"password": "changed"}
    assert ret["result"] is (None if test_mode else True)
    assert SECRET not in repr(ret)
    # The plain value (unmasked pillar) is what reaches rabbitmqctl.
    assert [c for c in calls if c[0] == "set_password"] == ([] if test_mode else
                                                           [("set_password", ("openstack", SECRET))])


def test_new_user_gets_password_and_permissions(user_state):
    states, calls = user_state(exists=False, password_ok=False, perms={})
    ret = states.user_present("openstack", "hastack:secrets:rabbit_openstack", perms=PERMS)
    assert ret["changes"] == {"password": "created", "perms": PERMS}
    assert ("set_permissions", ("openstack", "openstack", ".*", ".*", ".*")) in calls


def test_missing_pillar_password_fails_naming_the_key_only(user_state):
    states, _calls = user_state(pillar=None)
    ret = states.user_present("openstack", "hastack:secrets:rabbit_openstack")
    assert ret["result"] is False and "hastack:secrets:rabbit_openstack" in ret["comment"]


# ---------------------------------------------------------------- Galera
# The Galera account states' secret handling is tested in test_galera_states.py
# (hash only on the wire), with the other Galera state tests.


# ----------------------------------------------------------- keepalived
@pytest.mark.parametrize("advert_int, show", [(0.2, True), (1, False)])
def test_keepalived_diff_is_hidden_only_when_the_config_holds_the_password(render, advert_int, show):
    mapdata = render(layout(CONVERGED, keepalived={"advert_int": advert_int}), minion_id="ctl1")
    assert mapdata["keepalived"]["show_changes"] is show
