"""Command line: one Hydra-configured run.

    python -m convex_coding experiment=identifiability dataset=grid_cut mixing=general \\
        lambda_w=0.1 lambda_r=0.3 seed=3
    python -m convex_coding --multirun dataset=grid,grid_cut seed=0,1,2
    python -m convex_coding --help          # lists the config groups
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from .pipeline.cache import ResultCache, atomic_write_text
from .pipeline.config import ConfigError
from .pipeline.identifiability_run import CertificateError
from .pipeline.runs import CONF_DIR, run_config
from .solvers import SolverError


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> None:
    try:
        record = run_config(cfg, ResultCache(cfg.cache_dir))
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    except (SolverError, CertificateError) as exc:
        sys.exit(f"error: solve not certified, nothing cached: {exc}")
    out = Path(cfg.out) if cfg.out else Path(HydraConfig.get().runtime.output_dir) / "result.json"
    atomic_write_text(out, json.dumps(record, indent=1, sort_keys=True))
    source = "cache hit" if record["cache_hit"] else "solved"
    print(f"{record['params']}: {describe(record)}, {source} -> {out}")


def describe(record: dict[str, Any]) -> str:
    """One line on what a run found (theory against measurement, certificate)."""
    experiment = record["config"]["experiment"]["name"]
    if experiment == "identifiability":
        theory = "modular" if record["theory"]["modular"] else "mixed"
        measured = "modular" if record["measured"]["modular"] else "mixed"
        return (f"theory {theory} (margin {record['theory']['margin']:.3g}), solver {measured} "
                f"(max angle {record['measured']['max_angle_deg']:.2f}°), certificate "
                f"violation {record['solution']['certificate_violation']:.1e}")
    if experiment == "on_off" and "threshold" in record["measured"]:
        return (f"measured threshold {record['measured']['threshold']:.4f}, predicted "
                f"ρ* = {record['theory']['rho_star']:.4f}")
    if experiment == "on_off":
        shape = "ON/OFF pair" if record["measured"]["on_off"] else "no ON/OFF pair"
        return (f"{shape} ({record['measured']['n_tunings']} tunings; theory: pair iff "
                f"ρ ≥ ρ* = {record['theory']['rho_star']:.4f}), cost "
                f"{record['solution']['inner']:.6g}, most negative reduced cost "
                f"{record['solution']['min_reduced_cost']:.1e}")
    if experiment == "tuning_uniqueness":
        if record["verdict"] == "uncertified":
            return f"uncertified ({record.get('uncertified_reason')}), not counted"
        predicted = ", ".join(f"{c}: {v}" for c, v in record["predictions"].items())
        return f"restarts say {record['verdict']}; criteria {predicted}"
    return "done"


def unknown_group_choice(overrides: list[str]) -> str | None:
    """The error for an override ``group=option`` naming no file ``conf/group/option.yaml``
    (checked before Hydra, whose own message spans a dozen lines), else ``None``."""
    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        group = CONF_DIR / key
        if not sep or key.startswith("hydra") or not group.is_dir():
            continue
        allowed = sorted(p.stem for p in group.glob("*.yaml"))
        choices = value.split(",") if "," in value else [value]  # --multirun sweeps
        for choice in choices:
            if choice not in allowed:
                return f"{key}={choice!r} is invalid; allowed: {', '.join(allowed)}"
    return None


def main() -> None:
    error = unknown_group_choice(sys.argv[1:])
    if error is not None:
        sys.exit(f"error: {error}")
    app()


if __name__ == "__main__":
    main()
