"""The layout's rules, checked on the source: the library never imports the pipeline, run
modules never import each other, and no module is over 600 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "convex_coding"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "conf" not in p.relative_to(PACKAGE).parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the package modules ``path`` imports (relative imports resolved)."""
    parts = ["convex_coding", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level + (path.name == "__init__.py")] \
                if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out |= {module} | {f"{module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {m for m in out if m.startswith("convex_coding")}


@pytest.mark.parametrize("path", [p for p in MODULES if "pipeline" not in p.parts
                                  and p.name not in ("cli.py", "__main__.py")],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_library_never_imports_the_pipeline(path: Path) -> None:
    assert not {m for m in _imports(path) if m.startswith("convex_coding.pipeline")}


RUN_MODULES = sorted((PACKAGE / "pipeline").glob("*_run.py"))


@pytest.mark.parametrize("path", RUN_MODULES, ids=lambda p: p.name)
def test_run_modules_never_import_each_other(path: Path) -> None:
    others = {f"convex_coding.pipeline.{p.stem}" for p in RUN_MODULES if p != path}
    assert not {m for m in _imports(path) if any(m.startswith(o) for o in others)}


def test_the_rules_see_imports() -> None:  # the checks above can fail
    run = PACKAGE / "pipeline" / "tuning_criteria_run.py"
    assert "convex_coding.pipeline.theorem1" in _imports(run)
    assert "convex_coding.affine_channels.closed_form" in _imports(
        PACKAGE / "affine_channels" / "certificates.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_600_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 600


_HEAVY = ("cvxpy.atoms", "scipy.stats._stats_py", "matplotlib.pyplot")


def _loaded_heavy(code: str) -> list[str]:
    """The heavy modules a fresh interpreter has executed after running ``code``."""
    import subprocess
    import sys

    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {_HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True, timeout=120)
    return out.stdout.split()


def test_importing_every_run_module_leaves_the_solver_stack_unloaded() -> None:
    """A cache hit must not pay ~3 s for cvxpy (issue #20): run modules, the batch runner
    and config checks import it lazily (``convex_coding._lazy``)."""
    names = ", ".join(f"convex_coding.pipeline.{p.stem}" for p in RUN_MODULES)
    assert _loaded_heavy(f"import convex_coding.pipeline.batch, {names}") == []


def test_a_cache_hit_reads_and_verifies_without_cvxpy(tmp_path: Path) -> None:
    """The second run of an instance is a cache hit, re-verified from the stored numbers,
    in a process that never executes cvxpy."""
    run = ("from convex_coding.pipeline.batch import run_batch\n"
           f"run_batch([['experiment=identifiability']], {str(tmp_path)!r})")
    _loaded_heavy(run)  # solves and caches
    assert _loaded_heavy(run) == []
