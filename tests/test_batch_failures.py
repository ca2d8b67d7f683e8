"""A failing instance of a batch is named (experiment, instance, overrides) in the log
and in the one-line error the job prints."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from convex_coding.pipeline.batch import run_batch
from convex_coding.pipeline.errors import InstanceError


def test_failing_instance_is_named_in_log_and_error(tmp_path: Path, caplog) -> None:
    good = ["experiment=identifiability", "dataset=grid", "dataset.points_per_axis=5"]
    bad = ["experiment=on_off_density", "rho=1.5"]
    with caplog.at_level(logging.ERROR, logger="convex_coding.batch"):
        with pytest.raises(InstanceError) as err:
            run_batch({"ok": good, "rho_too_high": bad}, tmp_path / "cache")
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("on_off_density instance 'rho_too_high' (experiment=on_off_density "
                           "rho=1.5) failed: rho=1.5 is invalid; allowed:")
    assert text in caplog.text  # the job log says the same
    assert "Traceback" not in caplog.text  # a user error, not a bug


def test_unexpected_error_keeps_its_traceback_in_the_log(tmp_path: Path, caplog,
                                                         monkeypatch) -> None:
    from convex_coding.pipeline import batch

    def boom(cfg, cache):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(batch, "run_config", boom)
    with caplog.at_level(logging.ERROR, logger="convex_coding.batch"):
        with pytest.raises(InstanceError, match=r"identifiability instance 0 .*"
                                                r"ZeroDivisionError: division by zero"):
            run_batch([["seed=0"]], tmp_path / "cache")
    assert "Traceback" in caplog.text
