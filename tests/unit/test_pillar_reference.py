"""docs/pillar-reference.md lists every default the formula has, with a meaning,
and is exactly what docs/pillar_reference.py makes of hastack/parameters/ now;
docs/tiers.md is what docs/tiers_reference.py makes of the tier blocks."""

import importlib.util
import pathlib
import re

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


def generator(name="pillar_reference"):
    spec = importlib.util.spec_from_file_location(name, REPO / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def merged_defaults():
    """defaults.yaml < tier files < os_family Debian, as map.jinja merges them (without pillar)."""
    from saltmod_loader import load_salt_module
    hastack = load_salt_module("_modules", "hastack")
    params = REPO / "hastack" / "parameters"
    load = lambda p: yaml.safe_load(p.read_text())  # noqa: E731
    return hastack.merge_config(load(params / "defaults.yaml"), {}, load(params / "os_family" / "Debian.yaml"),
                                [load(p) for p in sorted((params / "tiers").glob("*.yaml"))])


def documented_rows():
    text = (REPO / "docs" / "pillar-reference.md").read_text()
    return {m.group(1): (m.group(2), m.group(3).strip())
            for m in re.finditer(r"^\| `hastack:([^`]+)` \| `(.*)` \| (.*) \|$", text, re.M)}


def test_reference_is_up_to_date():
    assert generator().main(["--check"]) == 0, "run python3 docs/pillar_reference.py and commit the result"


def test_every_default_is_documented_with_a_meaning():
    gen = generator()
    rows = documented_rows()
    keys = {":".join(path) for path, _ in gen.leaves(merged_defaults())}
    assert len(keys) > 400
    assert sorted(keys - set(rows)) == []
    assert [key for key, (_, meaning) in rows.items() if not meaning] == []


def test_defaults_shown_are_the_values_of_the_files():
    rows = documented_rows()
    assert rows["galera:max_connections"][0] == "1000"
    assert rows["keystone:db_pool:max_overflow"][0] == "10"
    assert rows["network:vip"][0] == '""'
    assert "virtual IP" in rows["network:vip"][1]
    # A tier block's field takes its meaning from the tiers README.
    assert rows["tiers:galera:frontends:galera:port"][1].startswith("`{listener:")


def test_comment_parser_follows_nesting_and_skips_lists():
    gen = generator()
    text = """\
# header
---
values:
  # The block.
  block:
    # Packages.
    pkgs:
      - a
      # not the meaning of anything
      - b
    # The port.
    port: 1
    nested:
      # Inner.
      inner: x
    bare: 2
"""
    comments = gen.key_comments(text)
    assert comments == {("block",): "The block.", ("block", "pkgs"): "Packages.", ("block", "port"): "The port.",
                        ("block", "nested", "inner"): "Inner."}
    assert gen.meaning(("block", "bare"), comments, {}) == "(part of `block`) The block."


def test_tiers_page_is_up_to_date_and_names_every_tier_in_deploy_order():
    tiers = generator("tiers_reference")
    assert tiers.main(["--check"]) == 0, "run python3 docs/tiers_reference.py and commit the result"
    text = (REPO / "docs" / "tiers.md").read_text()
    hastack = tiers.formula()
    defaults, tier_docs, os_family = hastack.read_layers(REPO / "hastack")
    order = hastack.deploy_order(hastack.merge_config(defaults, {}, os_family, tier_docs))
    assert [text.index(f"## `{name}`") for name in order] == sorted(text.index(f"## `{name}`") for name in order)
    assert ("`galera`: VIP:3306 (tcp) → every `db` host at its stack IP; checked by HTTP on port 9200; "
            "one writer") in text
    assert "## `glance` (planned: no states yet)" in text
