"""Run every benchmark in sequence (what ``snakemake --cores 2 benchmarks`` does).

    python benchmarks/run_all.py --scale quick             # all three, ~25 min on 2 cores
    python benchmarks/run_all.py --scale quick --only training,scaling
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_pipeline
import bench_scaling
import bench_training

STEPS = {"training": bench_training, "scaling": bench_scaling, "pipeline": bench_pipeline}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="quick")
    ap.add_argument("--only", default=",".join(STEPS))
    ap.add_argument("--root", type=Path, default=None)
    args = ap.parse_args(argv)
    extra = [] if args.root is None else ["--root", str(args.root)]
    for name in args.only.split(","):
        print(f"== {name}", flush=True)
        STEPS[name].main(["--scale", args.scale, *extra])


if __name__ == "__main__":
    main()
