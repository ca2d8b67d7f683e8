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
    theory = "modular" if record["theory"]["modular"] else "mixed"
    measured = "modular" if record["measured"]["modular"] else "mixed"
    print(
        f"{record['params']}: theory {theory} (margin {record['theory']['margin']:.3g}), "
        f"solver {measured} (max angle {record['measured']['max_angle_deg']:.2f}°), "
        f"certificate violation {record['solution']['certificate_violation']:.1e}, "
        f"{'cache hit' if record['cache_hit'] else 'solved'} -> {out}"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
