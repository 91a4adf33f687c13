"""
Unit tests of _modules/hastack_galera_sql.py: quoting, grants parsing, and
``query`` going through the configured socket with the SQL on stdin. The
loader dunders come from pytest-salt-factories' ``configure_loader_modules``.
"""

import pytest
from conftest import load_salt_module

sql = load_salt_module("_modules", "hastack_galera_sql")


class RunAll:
    """cmd.run_all stand-in that records each call and answers with ``reply``."""

    def __init__(self):
        self.calls = []
        self.reply = {"retcode": 0, "stdout": "a\tb\n\nc\td\n", "stderr": ""}

    def __call__(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        return dict(self.reply)


@pytest.fixture
def run_all():
    return RunAll()


@pytest.fixture
def configure_loader_modules(run_all, monkeypatch):
    monkeypatch.setattr(sql.salt.utils.path, "which", lambda name: f"/usr/bin/{name}")
    return {sql: {"__salt__": {"cmd.run_all": run_all}, "__opts__": {"test": False}}}


@pytest.mark.parametrize("value, expected", [
    ("plain", "'plain'"),
    ("it's", "'it\\'s'"),
    ("back\\slash", "'back\\\\slash'"),
])
def test_sql_quote(value, expected):
    assert sql.sql_quote(value) == expected


GRANTS = [
    "GRANT USAGE ON *.* TO `nova`@`10.0.0.0/255.255.255.0` IDENTIFIED BY PASSWORD '*ABC'",
    "GRANT ALL PRIVILEGES ON `nova`.* TO `nova`@`10.0.0.0/255.255.255.0`",
    "GRANT SELECT, INSERT ON `nova_api`.* TO `nova`@`10.0.0.0/255.255.255.0`",
    "GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO `sst`@`localhost`",
]


def test_parse_grants():
    grants = sql.parse_grants(GRANTS)
    assert grants["nova.*"] == {"ALL PRIVILEGES"}
    assert grants["nova_api.*"] == {"SELECT", "INSERT"}
    assert grants["*.*"] == {"USAGE", "RELOAD", "PROCESS", "LOCK TABLES", "BINLOG MONITOR"}


@pytest.mark.parametrize("target, wanted, missing", [
    ("nova.*", ["ALL PRIVILEGES"], []),
    ("nova.*", ["SELECT"], []),
    ("nova_api.*", ["ALL PRIVILEGES"], ["ALL PRIVILEGES"]),
    ("nova_api.*", ["select", "UPDATE"], ["UPDATE"]),
    ("nova_cell0.*", ["ALL PRIVILEGES"], ["ALL PRIVILEGES"]),
    ("*.*", ["RELOAD", "PROCESS", "LOCK TABLES", "BINLOG MONITOR"], []),
])
def test_grants_missing(target, wanted, missing):
    assert sql.grants_missing(GRANTS, target, wanted) == missing


def test_query_uses_the_given_socket_and_stdin(run_all):
    rows = sql.query("SELECT 'secret-value'", socket="/srv/db/mysqld.sock")
    assert rows == [["a", "b"], ["c", "d"]]
    (cmd, kwargs), = run_all.calls
    assert cmd == ["/usr/bin/mariadb", "--protocol=socket", "--socket=/srv/db/mysqld.sock",
                   "--user=root", "-N", "-B"]
    assert kwargs["stdin"] == "SELECT 'secret-value'" and "secret-value" not in " ".join(cmd)
    assert kwargs["output_loglevel"] == "quiet"


def test_query_defaults_to_debians_socket(run_all):
    sql.query("SELECT 1")
    assert "--socket=/run/mysqld/mysqld.sock" in run_all.calls[0][0]


def test_query_raises_on_client_failure(run_all):
    run_all.reply = {"retcode": 1, "stdout": "", "stderr": "ERROR 2002 (HY000): Can't connect"}
    with pytest.raises(sql.CommandExecutionError, match="2002"):
        sql.query("SELECT 1")


def test_virtual_needs_a_client(monkeypatch):
    monkeypatch.setattr(sql.salt.utils.path, "which", lambda name: None)
    assert sql.__virtual__() == (False, "hastack_galera_sql: mariadb/mysql client binaries not found")
