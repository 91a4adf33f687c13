"""The lab publishes `salt` jobs from its own process: its command lines must
mean what they meant to the `salt` CLI, and anything else goes to the CLI."""

import pytest

from hastack_lab.lab import parse_salt_args


def test_list_target_timeout_and_arguments_parsed_the_cli_way():
    call = parse_salt_args(["-L", "ctl1,ctl2", "hastack_rabbitmq.status", "-t", "30"])
    assert call == {"tgt": ["ctl1", "ctl2"], "tgt_type": "list", "fun": "hastack_rabbitmq.status",
                    "timeout": 30, "arg": []}
    call = parse_salt_args(["ctl1", "test.arg", "5", "unmask=True", "b=[1, 2]"])
    assert call["tgt"] == "ctl1" and call["tgt_type"] == "glob" and call["timeout"] is None
    # YAML types as the CLI sends them; key=value becomes a keyword argument.
    assert call["arg"] == [5, {"unmask": True, "b": [1, 2], "__kwarg__": True}]


def test_a_timeout_after_the_function_and_a_compound_target():
    call = parse_salt_args(["-C", "G@os:Debian and ctl*", "state.apply", "hastack.galera", "-t", "900"])
    assert call["tgt_type"] == "compound" and call["fun"] == "state.apply"
    assert call["arg"] == ["hastack.galera"] and call["timeout"] == 900


@pytest.mark.parametrize("args", [
    ["--batch", "1", "*", "test.ping"],      # batching: the CLI's
    ["*", "test.ping,test.version", "", ","],  # a compound command: the CLI's
    ["*"],                                   # no function
])
def test_anything_else_goes_to_the_cli(args):
    assert parse_salt_args(args) is None
