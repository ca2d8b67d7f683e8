"""The numbers the README reports agree with the committed reference summaries.

Convention (machine-readable, invisible when rendered): a reported number is followed
directly by an HTML comment naming the scale and the ``summary.json`` key it quotes::

    648<!-- quick: identifiability.alignment.n_instances --> alignment instances
    random sweep 64<!-- quick: identifiability.agreement * identifiability.n_instances -->/64

* the scale is ``quick`` or ``paper`` → ``results/reference/<scale>/summary.json``; a mark
  whose scale has no committed reference fails (a number nothing can check);
* the key is a dotted path into the summary; a mark may combine keys with ``*``, ``/``,
  ``+``, ``-`` (separated by spaces, evaluated left to right);
* a closing backtick may sit between the number and the comment (`` `2.5e-4`<!-- … --> ``);
* a number in scientific notation, or one written after ``≈``, agrees if the reference
  value rounded to its last written digit equals it (``2.5e-4`` quotes 0.000249…,
  ``4e-8`` quotes 3.8e-8, ``≈0.32`` quotes 0.3237); any other number is exact
  (``64``, and ``1.0`` is not 0.988: an agreement of 84 of 85 is not "1.0");
  ``−`` (U+2212) is a minus.

The test fails when any marked number disagrees, when a mark names a missing key, when
the README has no marked number, and when an experiment block of a committed reference
is quoted nowhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
REFERENCES = REPO / "results" / "reference"

MARK = re.compile(
    r"(?P<approx>≈\s?)?(?P<number>[-−]?\d+(?:\.\d+)?(?:[eE][-−+]?\d+)?)`?"
    r"<!--\s*(?P<scale>[a-z]+):\s*(?P<expr>[^>]*?)\s*-->")
_OPS = {"*": lambda a, b: a * b, "/": lambda a, b: a / b,
        "+": lambda a, b: a + b, "-": lambda a, b: a - b}


@dataclass(frozen=True)
class Mark:
    """One number the README quotes from a summary."""

    line: int
    number: str
    scale: str
    expr: str

    def where(self) -> str:
        return f"README.md:{self.line}: {self.number} ({self.scale}: {self.expr})"


def find_marks(text: str) -> list[Mark]:
    """Every marked number of a README text, in order."""
    marks = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for m in MARK.finditer(line):
            number = f"≈{m['number']}" if m["approx"] else m["number"]
            marks.append(Mark(lineno, number, m["scale"], m["expr"]))
    return marks


def lookup(summary: dict[str, Any], key: str) -> Any:
    """The value at a dotted key (keys may themselves contain dots: longest match first)."""
    node: Any = summary
    rest = key
    while rest:
        if not isinstance(node, dict):
            raise KeyError(key)
        head = next((k for k in sorted(node, key=len, reverse=True)
                     if rest == k or rest.startswith(f"{k}.")), None)
        if head is None:
            raise KeyError(key)
        node, rest = node[head], rest[len(head) + 1:]
    return node


def evaluate(summary: dict[str, Any], expr: str) -> float:
    """A mark's value: ``key`` or ``key op key op …`` (left to right)."""
    tokens = expr.split()
    if len(tokens) % 2 == 0 or any(t not in _OPS for t in tokens[1::2]):
        raise ValueError(f"malformed mark {expr!r}: want 'key' or 'key * key' …")
    value = lookup(summary, tokens[0])
    for op, key in zip(tokens[1::2], tokens[2::2], strict=True):
        value = _OPS[op](value, lookup(summary, key))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{expr} is {value!r}, not a number")
    return value


def agrees(written: str, value: float) -> bool:
    """Whether ``value`` is the number ``written``: exactly, or (scientific notation or
    ``≈``) rounded to its last written digit."""
    approx = written.startswith("≈") or "e" in written.lower()
    quoted = Decimal(written.lstrip("≈").replace("−", "-"))
    if not approx:
        return abs(float(quoted) - float(value)) <= 1e-12 * max(1.0, abs(float(value)))
    step = Decimal(1).scaleb(quoted.as_tuple().exponent)
    return Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_EVEN) == quoted


def references() -> dict[str, dict[str, Any]]:
    """Scale → committed reference summary."""
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted(REFERENCES.glob("*/summary.json"))}


def check(text: str, refs: dict[str, dict[str, Any]]) -> tuple[list[Mark], list[str]]:
    """The marks of a README text and one error line per mark that does not hold."""
    marks = find_marks(text)
    errors = []
    for mark in marks:
        if mark.scale not in refs:
            errors.append(f"{mark.where()}: no committed reference "
                          f"results/reference/{mark.scale}/summary.json")
            continue
        try:
            value = evaluate(refs[mark.scale], mark.expr)
        except (KeyError, ValueError, ZeroDivisionError) as exc:
            errors.append(f"{mark.where()}: {exc}")
            continue
        if not agrees(mark.number, value):
            errors.append(f"{mark.where()}: the reference says {value!r}")
    return marks, errors


def test_the_readme_numbers_agree_with_the_references() -> None:
    refs = references()
    assert refs, "no committed reference summary under results/reference/"
    marks, errors = check(README.read_text(), refs)
    assert marks, ("README.md marks no number with <!-- quick: key --> (see this test's "
                   "docstring), so none of its numbers is checked")
    assert not errors, "README numbers disagree with the references:\n" + "\n".join(errors)


def test_every_experiment_of_a_reference_is_quoted() -> None:
    """Each experiment block of each committed reference has at least one marked number."""
    quoted = {(m.scale, key.split(".")[0]) for m in find_marks(README.read_text())
              for key in m.expr.split()[::2]}
    missing = [f"{scale}: {block}" for scale, summary in references().items()
               for block, value in summary.items()
               if isinstance(value, dict) and (scale, block) not in quoted]
    assert not missing, f"reference blocks the README quotes nowhere: {missing}"


@pytest.mark.parametrize(("written", "value", "ok"), [
    ("64", 64, True), ("64", 63, False), ("1.0", 1.0, True), ("1.0", 0.988, False),
    ("≈1.0", 0.988, True), ("≈0.32", 0.3237, True), ("0.32", 0.3237, False),
    ("2.5e-4", 0.00024999999999997247, True), ("2.4e-4", 0.00024999999999997247, False),
    ("4e-8", 3.841766028099621e-08, True), ("−7e-14", -7.208383195900225e-14, True),
    ("7e-14", -7.208383195900225e-14, False), ("≈0.33", 0.3237, False),
])
def test_agrees_rounds_to_the_written_digit(written: str, value: float, ok: bool) -> None:
    assert agrees(written, value) is ok


def test_a_wrong_number_or_key_fails() -> None:
    refs = {"quick": {"a": {"n": 85, "agree": 84, "rate": 0.988, "x.y": {"z": 2}}}}
    text = ("agrees 85<!-- quick: a.n --> of 85; `≈0.99`<!-- quick: a.rate -->\n"
            "84<!-- quick: a.agree --> and 1<!-- quick: a.n - a.agree --> inconclusive, "
            "2<!-- quick: a.x.y.z -->\n"
            "bad 84<!-- quick: a.n -->, missing 1<!-- quick: a.nope -->, "
            "paper 3<!-- paper: a.n -->, typo 2<!-- quick: a.n ** a.n -->\n")
    marks, errors = check(text, refs)
    assert len(marks) == 9
    assert len(errors) == 4, errors
    assert "README.md:3: 84 (quick: a.n): the reference says 85" in errors[0]
    assert "a.nope" in errors[1]
    assert "no committed reference results/reference/paper/summary.json" in errors[2]
    assert "malformed mark" in errors[3]


def test_a_readme_without_marks_fails() -> None:
    marks, errors = check("agreement 1.0 (85 of 85)\n", references())
    assert marks == [] and errors == []  # the main test's `assert marks` rejects this
