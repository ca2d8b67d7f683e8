"""The regression check fails on every reference number moved beyond its tolerance."""

from __future__ import annotations

import copy
import json

import pytest

from convex_coding.pipeline.regression import (
    _rule_for,
    compare,
    flatten,
    load_rules,
    main,
    reference_path,
)

REFERENCE = json.loads(reference_path("quick").read_text())
RULES = load_rules()
KEYS = sorted(flatten(REFERENCE))


def _set(tree: dict, dotted: str, value) -> dict:
    out = copy.deepcopy(tree)
    node, rest = out, dotted
    # keys may contain dots (e.g. "spike_and_slab_p0.25"): descend by the longest match
    while rest not in node and any(rest.startswith(f"{k}.") for k in node):
        head = max((k for k in node if rest.startswith(f"{k}.")), key=len)
        node, rest = node[head], rest[len(head) + 1:]
    node[rest] = value
    return out


def _perturbed(key: str, value):
    """A value just outside the key's tolerance (None when the key is not compared)."""
    rule = _rule_for(key, RULES)
    if rule.kind == "ignore":
        return None
    if rule.kind == "max":
        return rule.tol * 1.5 if rule.tol > 0 else rule.tol + 1.0
    if rule.kind == "min":
        return rule.tol * 1.5 if rule.tol < 0 else rule.tol - 1.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [value, "extra"] if isinstance(value, list) else f"{value}-changed"
    if rule.kind == "exact":
        return value + 1
    if rule.kind == "rel":
        return value * (1 + 2 * rule.tol) + (2 * rule.tol if value == 0 else 0)
    return value + 2 * rule.tol


def test_every_reference_key_has_a_rule() -> None:
    assert all(_rule_for(k, RULES) is not None for k in KEYS)


def test_reference_matches_itself() -> None:
    assert compare(REFERENCE, REFERENCE, RULES) == []


@pytest.mark.parametrize("key", KEYS)
def test_perturbation_beyond_tolerance_is_reported(key: str) -> None:
    value = flatten(REFERENCE)[key]
    bad = _perturbed(key, value)
    if bad is None:
        pytest.skip(f"{key} is deliberately not compared")
    problems = compare(REFERENCE, _set(REFERENCE, key, bad), RULES)
    assert [p.key for p in problems] == [key]
    assert str(value) in str(problems[0]) or _rule_for(key, RULES).kind in ("max", "min")


def test_within_tolerance_passes_and_missing_or_new_keys_fail() -> None:
    rel = [k for k in KEYS if _rule_for(k, RULES).kind == "rel"]
    assert rel
    key = rel[0]
    near = flatten(REFERENCE)[key] * (1 + 0.5 * _rule_for(key, RULES).tol)
    assert compare(REFERENCE, _set(REFERENCE, key, near), RULES) == []
    extra = _set(REFERENCE, "identifiability.new_number", 1.0)
    assert [p.key for p in compare(REFERENCE, extra, RULES)] == ["identifiability.new_number"]
    missing = copy.deepcopy(REFERENCE)
    del missing["identifiability"]["n_instances"]
    assert [p.key for p in compare(REFERENCE, missing, RULES)] == ["identifiability.n_instances"]


def test_cli_prints_key_expected_got_and_tolerance(tmp_path, capsys) -> None:
    got = tmp_path / "summary.json"
    got.write_text(json.dumps(_set(REFERENCE, "identifiability.n_mixed", -1)))
    assert main(["compare", str(got), "--reference", str(reference_path("quick"))]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION identifiability.n_mixed: expected" in out and "got -1 (exact)" in out
