"""The linters over the whole tree, with the configs kept in the repository.

- ruff (ruff.toml): every Python file, found by ruff itself.
- yamllint (.yamllint): the plain YAML files (pillar.example, kitchen.yml, FORMULA,
  hastack/parameters/, the linters' own configs). Never .sls or .jinja: those are Jinja.
- salt-lint (.salt-lint): every .sls file (states, orchestrations, reactors, the lab's).
- shellcheck (.shellcheckrc): every shell script, found by extension or shebang; a
  shell script kept as a Jinja template is rendered with placeholder values first.

Each linter runs over every file it is for, nothing excluded: any finding fails
its test with the linter's own report. The known-bad tests show that each linter
and config really reports what it should, so a clean run means something.
The linters are pinned in lab/requirements.txt and installed into the venv.
"""

import pathlib
import re
import subprocess
import sys

import jinja2
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
# The venv's bin/, where pip puts the linters (not resolved: the venv's python is a symlink).
BIN = pathlib.Path(sys.executable).parent
SHEBANG_SHELL = re.compile(r"^#!\s*(/usr/bin/env\s+)?(/usr)?(/bin/)?(ba|da)?sh\b")


def run(tool, *args, cwd=REPO, stdin=None):
    exe = BIN / tool
    assert exe.exists(), f"{tool} is not installed in the venv: run lab/bootstrap.sh's hastack_ensure_venv"
    return subprocess.run([str(exe), *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120)


def report(proc):
    return f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}"


def assert_clean(proc, what):
    """Fails with the linter's own report when it found anything (each exits non-zero then:
    yamllint too, as --strict counts its warnings)."""
    if proc.returncode != 0:
        pytest.fail(f"{what}: {report(proc)}", pytrace=False)


def repo_files():
    """Every file of the tree: committed or new, less what .gitignore keeps out."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    return sorted(p for p in out.split("\0") if p and (REPO / p).is_file())


def sls_files():
    return [p for p in repo_files() if p.endswith(".sls")]


def is_shell(path):
    if path.endswith((".sh", ".bash")):
        return True
    try:
        with open(REPO / path, encoding="utf-8") as f:
            first = f.readline()
    except (UnicodeDecodeError, OSError):
        return False
    return bool(SHEBANG_SHELL.match(first))


def shell_scripts():
    return [p for p in repo_files() if not p.endswith(".jinja") and is_shell(p)]


def shell_templates():
    return [p for p in repo_files() if p.endswith(".jinja") and is_shell(p)]


class _Placeholder(jinja2.ChainableUndefined):
    """Any template variable, at any depth, renders as one plain word."""

    def __str__(self):
        return "placeholder"


def render_shell_template(text):
    env = jinja2.Environment(undefined=_Placeholder, keep_trailing_newline=True)
    return env.from_string(text).render()


# --- the tree is clean -------------------------------------------------------------------------


def test_ruff_clean():
    assert_clean(run("ruff", "check", "--no-cache", "--output-format", "concise", "."), "ruff")


def test_yamllint_clean():
    assert_clean(run("yamllint", "--strict", "--format", "parsable", "."), "yamllint")


def test_salt_lint_clean():
    files = sls_files()
    assert "hastack/init.sls" in files and "orch/deploy.sls" in files
    assert_clean(run("salt-lint", *files), "salt-lint")


def test_shellcheck_clean():
    scripts = shell_scripts()
    assert {"lab/bootstrap.sh", "lab/hastack-lab", "tests/run", ".ci/run"} <= set(scripts), scripts
    assert_clean(run("shellcheck", *scripts), "shellcheck")


@pytest.mark.parametrize("template", shell_templates())
def test_shellcheck_clean_shell_template(template):
    proc = run("shellcheck", "-", stdin=render_shell_template((REPO / template).read_text()))
    assert_clean(proc, f"shellcheck of {template} rendered with placeholders")


def test_yamllint_reads_the_yaml_files_and_no_jinja():
    proc = run("yamllint", "--list-files", ".")
    assert proc.returncode == 0, report(proc)
    listed = {p.removeprefix("./") for p in proc.stdout.split()}
    want = {"pillar.example", "kitchen.yml", "FORMULA", ".yamllint", ".salt-lint",
            "hastack/parameters/defaults.yaml", "hastack/parameters/os_family/Debian.yaml"}
    assert want <= listed, sorted(want - listed)
    assert not [p for p in listed if p.endswith((".sls", ".jinja"))], sorted(listed)


def test_a_shell_template_is_found():
    assert "hastack/galera/files/galera-health.init.jinja" in shell_templates()


# --- each linter reports what it should --------------------------------------------------------


def test_ruff_reports_a_finding(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(l):\n    return undefined_name + '" + "x" * 120 + "'\n")
    proc = run("ruff", "check", "--no-cache", "--config", str(REPO / "ruff.toml"),
               "--output-format", "concise", str(bad))
    assert proc.returncode == 1, report(proc)
    for rule in ("F401", "F821", "E501", "E741"):
        assert rule in proc.stdout, report(proc)


def test_ruff_knows_the_salt_loader_dunders(tmp_path):
    mod = tmp_path / "mod.py"
    mod.write_text('def f():\n    return __salt__["test.ping"](), __opts__, __pillar__, __grains__\n')
    proc = run("ruff", "check", "--no-cache", "--config", str(REPO / "ruff.toml"), str(mod))
    assert proc.returncode == 0, report(proc)


def test_yamllint_reports_a_finding(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("---\nkey: value \nkey: other\nlong: " + "x " * 70 + "\n")
    proc = run("yamllint", "--strict", "--format", "parsable", "-c", str(REPO / ".yamllint"), str(bad))
    assert proc.returncode != 0, report(proc)
    for rule in ("trailing-spaces", "key-duplicates", "line-length"):
        assert f"({rule})" in proc.stdout, report(proc)


def test_salt_lint_reports_a_finding(tmp_path):
    bad = tmp_path / "bad.sls"
    bad.write_text(
        "bad-file-managed:\n"
        "  file.managed:\n"
        "    - name: /tmp/{{grains.id}}\n"
        "    - mode: 644\n"
        "    - contents: {{ {'nested': {'flow': {'mapping': true}}} | json }}\n"
        "    - requires:\n"
        "      - pkg: foo\n"
    )
    proc = run("salt-lint", str(bad))  # from the repo root: .salt-lint and its rulesdir
    assert proc.returncode != 0, report(proc)
    # H206 (tests/salt_lint_rules/) stands in for 206: it reports line 3 but not line 5.
    assert "[H206]" in proc.stdout and f"{bad}:3" in proc.stdout, report(proc)
    assert f"{bad}:5" not in proc.stdout, report(proc)
    for rule in ("[207]", "[217]"):
        assert rule in proc.stdout, report(proc)


def test_shellcheck_reports_a_finding(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\nrm -rf $1/*\ncd /tmp\n")
    proc = run("shellcheck", str(bad))
    assert proc.returncode != 0, report(proc)
    for code in ("SC2086", "SC2115"):
        assert code in proc.stdout, report(proc)


def test_shellcheck_reports_a_finding_in_a_rendered_template():
    rendered = render_shell_template("#!/bin/sh\nNAME={{ health.service }}\nrm -rf $NAME/*\n")
    assert "NAME=placeholder\n" in rendered
    proc = run("shellcheck", "-", stdin=rendered)
    assert proc.returncode != 0 and "SC2115" in proc.stdout, report(proc)
