"""A non-editable install finds its Hydra configs: build a wheel, install it in a fresh
venv and run one identifiability instance from a folder that has no ``conf/``.

The wheel is built from a copy of the checkout's build inputs (so no ``build/`` folder
appears in the working tree).  The fresh venv gets the wheel with ``--no-deps``; its
dependencies come from the test interpreter's site-packages through a ``.pth`` line (fast,
offline after the first build; that folder's own ``.pth`` files, e.g. an editable install of
this package, are not processed, so ``convex_coding`` is imported from the wheel).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "README.md", "src", "conf")


def _copy_build_inputs(dest: Path) -> Path:
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in BUILD_INPUTS:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the working tree, built by pip."""
    root = tmp_path_factory.mktemp("wheel")
    source = _copy_build_inputs(root / "source")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
          str(root / "dist"), str(source)], cwd=root)
    (built,) = (root / "dist").glob("convex_coding-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv's interpreter with the wheel installed (non-editable)."""
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv.parent)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--quiet", str(wheel)], cwd=venv.parent)
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     cwd=venv.parent).strip())
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "zz_test_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    return python


def test_wheel_carries_every_config(wheel: Path) -> None:
    """Every YAML file under the top-level conf/ is in the wheel (new groups included)."""
    with zipfile.ZipFile(wheel) as zf:
        packed = {n.removeprefix("convex_coding/conf/") for n in zf.namelist()
                  if n.startswith("convex_coding/conf/")}
    on_disk = {p.relative_to(REPO / "conf").as_posix() for p in (REPO / "conf").rglob("*.yaml")}
    assert "config.yaml" in packed
    assert packed == on_disk


def test_installed_package_finds_its_configs(fresh_python: Path, tmp_path: Path) -> None:
    """The installed package imports from the venv and finds conf/ inside itself."""
    out = _run([str(fresh_python), "-c", "import convex_coding; from convex_coding.pipeline."
                "runs import CONF_DIR; print(convex_coding.__file__); print(CONF_DIR)"],
               cwd=tmp_path)
    module, conf = (Path(line) for line in out.split())
    venv = fresh_python.parents[1]
    assert module.is_relative_to(venv)
    assert conf.is_relative_to(venv) and (conf / "config.yaml").is_file()


def test_installed_cli_runs_one_instance(fresh_python: Path, tmp_path: Path) -> None:
    """``python -m convex_coding experiment=identifiability`` from a folder without conf/."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    stdout = _run([str(fresh_python), "-m", "convex_coding", "experiment=identifiability",
                   "seed=1", "cache_dir=cache", "out=result.json"], cwd=tmp_path, env=env)
    result = tmp_path / "result.json"
    assert str(result.name) in stdout
    record = json.loads(result.read_text())
    assert record["config"]["experiment"]["name"] == "identifiability"
    assert record["params"] == {"dataset": "grid", "dim": 2, "mixing": "orthogonal",
                                "lambda_w": 0.1, "lambda_r": 0.1, "seed": 1}
    assert record["cache_hit"] is False
    assert record["agree"] is True
    assert any((tmp_path / "cache").rglob("*.json"))
    assert not (tmp_path / "conf").exists()


def test_installed_help_reads_the_packaged_configs(fresh_python: Path, tmp_path: Path) -> None:
    """``--help`` of the installed console script: descriptions and ranges from the wheel."""
    script = fresh_python.parent / "convex-coding"
    stdout = _run([str(script), "experiment=identifiability", "--help"], cwd=tmp_path)
    assert "experiment=identifiability  (paper" in stdout
    assert "seed=0" in stdout and "an integer ≥ 0" in stdout
    assert "(no description)" not in stdout
