"""Every script in examples/ runs and passes its own assertions (each asserts its numbers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(script: Path) -> None:
    assert len(script.read_text().splitlines()) <= 40
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=600)  # a hang guard, not a timing (shared machines)
    assert done.returncode == 0, done.stdout + done.stderr
