"""Regression check of scientific results against committed reference summaries.

Every number of ``summary.json`` is compared with ``results/reference/<scale>/summary.json``
under an explicit per-key rule from ``results/reference/tolerances.yaml``:

``exact``  counts, verdicts, names (and lists of them) must be equal;
``rel``    ``|got − ref| ≤ tol·|ref|`` (costs, thresholds);
``abs``    ``|got − ref| ≤ tol``;
``max``    ``got ≤ tol`` regardless of the reference (certificates, residuals: their
           reference value is solver noise, only the bound is scientific);
``min``    ``got ≥ tol`` likewise (most negative reduced costs, agreement rates);
``ignore`` not compared (e.g. solver versions; the numbers they produce are).

Rules are matched in order against the dotted key path (``fnmatch`` patterns); a key
without a rule, a missing key, or an unexpected new key is a failure, so adding a
number to a summary means adding it to the reference and to the rules on purpose.

    python -m convex_coding.pipeline.regression compare GOT [--reference REF]
    python -m convex_coding.pipeline.regression update GOT [--reference REF]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .cache import atomic_write_text

REPO = Path(__file__).resolve().parents[3]
DEFAULT_TOLERANCES = REPO / "results" / "reference" / "tolerances.yaml"


@dataclass(frozen=True)
class Rule:
    pattern: str
    kind: str
    tol: float = 0.0


@dataclass(frozen=True)
class Mismatch:
    key: str
    expected: Any
    got: Any
    tolerance: str

    def __str__(self) -> str:
        return f"{self.key}: expected {self.expected!r}, got {self.got!r} ({self.tolerance})"


KINDS = ("exact", "rel", "abs", "max", "min", "ignore")


def load_rules(path: str | Path = DEFAULT_TOLERANCES) -> list[Rule]:
    rules = [Rule(**r) for r in yaml.safe_load(Path(path).read_text())["rules"]]
    for r in rules:
        if r.kind not in KINDS:
            raise ValueError(f"tolerance rule {r.pattern!r}: kind must be one of {KINDS}")
    return rules


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves; lists of scalars and lists of dicts stay whole."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def _rule_for(key: str, rules: list[Rule]) -> Rule | None:
    return next((r for r in rules if fnmatch.fnmatchcase(key, r.pattern)), None)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def compare(reference: dict, got: dict, rules: list[Rule]) -> list[Mismatch]:
    """All violations of the rules by ``got`` relative to ``reference``."""
    ref_flat, got_flat = flatten(reference), flatten(got)
    problems: list[Mismatch] = []
    for key in sorted(set(ref_flat) | set(got_flat)):
        rule = _rule_for(key, rules)
        if rule is None:
            problems.append(Mismatch(key, ref_flat.get(key), got_flat.get(key), "no rule"))
            continue
        if rule.kind == "ignore":
            continue
        if key not in got_flat:
            problems.append(Mismatch(key, ref_flat[key], "<missing>", rule.kind))
            continue
        if key not in ref_flat:
            problems.append(Mismatch(key, "<absent from reference>", got_flat[key], rule.kind))
            continue
        exp, val = ref_flat[key], got_flat[key]
        if rule.kind == "exact":
            ok = exp == val
            desc = "exact"
        elif not (_is_number(val) and math.isfinite(val)):
            ok, desc = False, f"{rule.kind} {rule.tol:g} (not a finite number)"
        elif rule.kind == "max":
            ok, desc = val <= rule.tol, f"must be ≤ {rule.tol:g}"
        elif rule.kind == "min":
            ok, desc = val >= rule.tol, f"must be ≥ {rule.tol:g}"
        elif rule.kind == "rel":
            ok = _is_number(exp) and abs(val - exp) <= rule.tol * abs(exp)
            desc = f"relative tolerance {rule.tol:g}"
        else:
            ok = _is_number(exp) and abs(val - exp) <= rule.tol
            desc = f"absolute tolerance {rule.tol:g}"
        if not ok:
            problems.append(Mismatch(key, exp, val, desc))
    return problems


def reference_path(scale: str) -> Path:
    return REPO / "results" / "reference" / scale / "summary.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convex_coding.pipeline.regression")
    parser.add_argument("command", choices=["compare", "update"])
    parser.add_argument("summary", type=Path, help="freshly computed summary.json")
    parser.add_argument("--reference", type=Path, default=None,
                        help="reference summary (default: results/reference/<scale>/summary.json)")
    parser.add_argument("--tolerances", type=Path, default=DEFAULT_TOLERANCES)
    args = parser.parse_args(argv)
    got = json.loads(args.summary.read_text())
    ref_path = args.reference or reference_path(got.get("scale", "quick"))
    if args.command == "update":
        atomic_write_text(ref_path, json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"reference updated: {ref_path}")
        return 0
    problems = compare(json.loads(ref_path.read_text()), got, load_rules(args.tolerances))
    for p in problems:
        print(f"REGRESSION {p}")
    n = len(flatten(got))
    print(f"{n - len(problems)} of {n} summary values match {ref_path.name} "
          f"({len(problems)} regressions)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
