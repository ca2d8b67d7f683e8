"""tuning_uniqueness run module: one-line config errors, cached payload re-verification."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from convex_coding.pipeline import tuning_uniqueness_run as R
from convex_coding.pipeline.errors import CertificateError, ConfigError


def _cfg(*overrides: str):
    from pathlib import Path

    conf = Path(__file__).resolve().parents[1] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return compose("config", overrides=["experiment=tuning_uniqueness", *overrides])


@pytest.mark.parametrize("override, message", [
    ("population.overlap=-1", "population.overlap=-1 is invalid; allowed: real in [0.05, 3]"),
    ("experiment.restarts=-2", "experiment.restarts=-2 is invalid; allowed: integer in"),
])
def test_bad_values_raise_one_line(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        R.validate(_cfg(override))


def test_grid_ratio_out_of_range():
    with pytest.raises(ConfigError, match=re.escape("population.ratio=0.5 is invalid")):
        R.validate(_cfg("population=grid", "population.ratio=0.5"))


def test_payload_verification_catches_tampering():
    cfg = _cfg("population.overlap=1.0", "population.broad_every=3", "population.n_positions=60",
               "experiment.restarts=2")
    _, z = R.build_population(cfg)
    from convex_coding.solvers import SolverSettings

    payload = R.solve_and_certify(z, SolverSettings(), cfg)
    assert payload["rotation"]["found"] and payload["condition"]["verdict"] == "fails"
    R.verify_payload(payload)
    bad = copy.deepcopy(payload)
    o = np.asarray(bad["rotation"]["o"])
    bad["rotation"]["o"] = (1.01 * o).tolist()
    with pytest.raises(CertificateError, match="stored rotation fails"):
        R.verify_payload(bad)
