"""
SQL for the Galera account states: run statements as root through the unix
socket with the ``mariadb`` client, quote values, and compare grants.

No Python MySQL driver is needed in Salt's Python, and the SQL goes to the
client on stdin, so values in it (password hashes) appear neither in the
process list nor in the log.
"""

import re

import salt.utils.path
from salt.exceptions import CommandExecutionError

__virtualname__ = "hastack_galera_sql"

DEFAULT_SOCKET = "/run/mysqld/mysqld.sock"


def __virtual__():
    if salt.utils.path.which("mariadb") or salt.utils.path.which("mysql"):
        return __virtualname__
    return (False, "hastack_galera_sql: mariadb/mysql client binaries not found")


def _client():
    client = salt.utils.path.which("mariadb") or salt.utils.path.which("mysql")
    if not client:
        raise CommandExecutionError("hastack_galera_sql: mariadb/mysql client not found")
    return client


def sql_quote(value):
    """
    ``value`` as a single-quoted SQL string literal (backslash and quote escaped).

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera_sql.sql_quote "it's"
    """
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def query(sql, socket=DEFAULT_SOCKET):
    """
    Run ``sql`` as root through the unix ``socket`` (pillar
    ``hastack:galera:socket``; Debian's root authenticates
    by its OS user, so no password is involved) and return the result rows as
    lists of strings. The SQL goes to the client on stdin, so values in it
    (passwords) appear neither in the process list nor in the log. Raises an
    error when the client fails.

    CLI Example:

    .. code-block:: bash

        salt ctl1 hastack_galera_sql.query 'SELECT User, Host FROM mysql.user'
    """
    res = __salt__["cmd.run_all"](
        [_client(), "--protocol=socket", f"--socket={socket}", "--user=root", "-N", "-B"],
        stdin=sql,
        python_shell=False,
        ignore_retcode=True,
        output_loglevel="quiet",
    )
    if res.get("retcode") != 0:
        raise CommandExecutionError(f"SQL failed: {(res.get('stderr') or '').strip()}")
    return [line.split("\t") for line in (res.get("stdout") or "").splitlines() if line]


_GRANT_RE = re.compile(r"^GRANT (?P<privs>.+?) ON (?P<target>\S+) TO ", re.IGNORECASE)


def parse_grants(lines):
    """
    ``SHOW GRANTS`` lines as ``{target: set of privileges}``, target without
    backticks (e.g. ``keystone.*``, ``*.*``), privileges upper case.

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera_sql.parse_grants '["GRANT ALL PRIVILEGES ON `nova`.* TO `nova`@`%`"]'
    """
    grants = {}
    for line in lines or []:
        match = _GRANT_RE.match(line.strip())
        if not match:
            continue
        target = match.group("target").replace("`", "")
        privs = {p.strip().upper() for p in match.group("privs").split(",") if p.strip()}
        grants.setdefault(target, set()).update(privs)
    return grants


def grants_missing(lines, target, privileges):
    """
    The privileges of ``privileges`` that ``SHOW GRANTS`` ``lines`` lack on
    ``target`` (``ALL`` and ``ALL PRIVILEGES`` are one privilege).

    CLI Example:

    .. code-block:: bash

        salt '*' hastack_galera_sql.grants_missing '["GRANT SELECT ON `nova`.* TO `nova`@`%`"]' \
            nova.* '["SELECT", "INSERT"]'
    """
    have = parse_grants(lines).get(target.replace("`", ""), set())
    if "ALL PRIVILEGES" in have:
        return []
    wanted = [p.strip().upper() for p in privileges]
    if wanted == ["ALL PRIVILEGES"] or wanted == ["ALL"]:
        return [] if "ALL PRIVILEGES" in have else ["ALL PRIVILEGES"]
    return [p for p in wanted if p not in have]
