"""environment.yml (for conda users) lists the same dependencies as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r for r in project["dependencies"]}
    wanted |= {_name(r): r for r in project["optional-dependencies"]["test"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {_name(r): r for r in pip_block if not r.startswith("-e")}
    assert listed == wanted
    assert "python=3.11" in env["dependencies"]


def test_packaged_configs_are_the_top_level_conf() -> None:
    """src/convex_coding/conf is a symlink to conf/ (not a copy that could drift), and
    the wheel's package data takes every YAML file under it (tests/test_wheel.py builds)."""
    link = REPO / "src" / "convex_coding" / "conf"
    assert link.is_symlink()
    assert link.resolve() == (REPO / "conf").resolve()
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["convex_coding"]
    assert "conf/**/*.yaml" in package_data
