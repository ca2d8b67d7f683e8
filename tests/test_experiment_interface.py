"""The experiment interface: a toy experiment registered here runs through the CLI, the
batch runner, the generic figure script and the summary merge with no edit to them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from convex_coding.pipeline import job, registry
from convex_coding.pipeline.batch import run_batch
from convex_coding.pipeline.cache import ResultCache, content_key
from convex_coding.pipeline.errors import CertificateError, ConfigError
from convex_coding.pipeline.experiment import Experiment

REPO = Path(__file__).resolve().parents[1]


def _toy_run(cfg, cache: ResultCache | None) -> dict[str, Any]:
    """The 'instance' is λ_W; its 'solution' is λ_W², certified by a square root."""
    lam = float(cfg.lambda_w)
    key = content_key({"experiment": "toy", "lambda_w": lam})
    payload = cache.get(key, verify=_toy_verify) if cache is not None else None
    hit = payload is not None
    if payload is None:
        payload = {"lam": lam, "square": lam * lam}
        if cache is not None:
            cache.put(key, payload)
    return {"key": key, "params": {"lambda_w": lam}, "config": {"experiment": {"name": "toy"}},
            "cache_hit": hit, "agree": True, **payload}


def _toy_verify(payload: dict) -> None:
    if abs(payload["square"] ** 0.5 - payload["lam"]) > 1e-12:
        raise CertificateError("square root does not give λ back")


def _toy_summarise(inputs) -> dict[str, Any]:
    records = [r for batch in inputs["batches"] for r in batch]
    return {"n_instances": len(records), "total": sum(r["square"] for r in records)}


def _toy_render(inputs, paths) -> None:
    for path in paths:
        Path(path).write_text("figure")


TOY = Experiment(name="toy", title="a toy", paper=False, run=_toy_run,
                 describe=lambda r: f"square {r['square']:.3g}", summarise=_toy_summarise,
                 render=_toy_render, verify=_toy_verify)


@pytest.fixture(autouse=True)
def toy_registered():
    registry.register(TOY)
    yield
    registry._extra.pop("toy", None)


def test_registry_lists_and_names_unknown_experiments() -> None:
    assert {"identifiability", "toy"} <= set(registry.names())
    assert registry.get("toy") is TOY
    with pytest.raises(ConfigError, match=r"experiment.name='nope' is invalid; allowed: .*toy"):
        registry.get("nope")


def test_toy_runs_through_the_batch_runner_and_the_cache(tmp_path: Path) -> None:
    runs = [["experiment.name=toy", f"lambda_w={lam}"] for lam in (0.5, 2.0)]
    records = run_batch(runs, tmp_path / "cache")
    assert [r["square"] for r in records] == [0.25, 4.0]
    again = run_batch(runs, tmp_path / "cache")
    assert [r["square"] for r in again] == [0.25, 4.0]


def test_a_forged_cached_toy_result_is_moved_aside_and_recomputed(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "cache")
    (record,) = run_batch([["experiment.name=toy", "lambda_w=3.0"]], cache.root)
    cache.put(record["key"], {"lam": 3.0, "square": 10.0})  # checksum valid, result wrong
    (again,) = run_batch([["experiment.name=toy", "lambda_w=3.0"]], cache.root)
    assert again["square"] == 9.0
    assert list(cache.root.rglob("*.rejected"))


def test_toy_runs_through_the_cli(tmp_path: Path, monkeypatch, capsys) -> None:
    from convex_coding import cli

    out = tmp_path / "result.json"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["convex_coding", "experiment.name=toy", "lambda_w=1.5",
                                      f"cache_dir={tmp_path / 'cache'}", f"out={out}"])
    cli.main()
    assert json.loads(out.read_text())["square"] == 2.25
    assert "square 2.25" in capsys.readouterr().out


def _job(kind: str, tmp_path: Path, **spec: Any) -> int:
    """Run one workflow job in this process, as a rule's shell command would."""
    spec = {"input": {}, "output": {}, "params": {}, "wildcards": {}, **spec}
    return job.main([kind, json.dumps(spec), str(tmp_path / f"{kind}.log")])


def test_toy_runs_through_the_job_entry_point_figure_and_summary_merge(tmp_path: Path) -> None:
    batches = []
    for i, lam in enumerate((1.0, 2.0)):
        path = tmp_path / f"batch{i}.json"
        assert _job("batch", tmp_path, output={"records": str(path)},
                    params={"overrides": [["experiment.name=toy", f"lambda_w={lam}"]],
                            "cache_dir": str(tmp_path / "cache"),
                            "conf_dir": str(REPO / "conf")}) == 0
        assert json.loads(path.read_text())[0]["overrides"][1] == f"lambda_w={lam}"
        batches.append(str(path))
    block = tmp_path / "summaries/toy.json"
    outputs = dict(pdf=str(tmp_path / "toy.pdf"), png=str(tmp_path / "toy.png"),
                   summary=str(block))
    figure = dict(input={"batches": batches}, output=outputs,
                  params={"experiment": "toy", "cache_dir": str(tmp_path / "cache")})
    assert _job("figure", tmp_path, **figure) == 0
    assert json.loads(block.read_text()) == {"toy": {"n_instances": 2, "total": 5.0}}
    assert (tmp_path / "toy.png").read_text() == "figure"
    # a second job with the same inputs restores the outputs from the figure cache: it
    # never looks the experiment up (unregistered here, drawing would fail)
    for path in outputs.values():
        Path(path).unlink()
    registry._extra.pop("toy")
    assert _job("figure", tmp_path, **figure) == 0
    registry.register(TOY)
    assert (tmp_path / "toy.png").read_text() == "figure"
    assert json.loads(block.read_text()) == {"toy": {"n_instances": 2, "total": 5.0}}
    merged = tmp_path / "summary.json"
    assert _job("summary", tmp_path, input={"blocks": [str(block)]},
                output={"summary": str(merged)}, wildcards={"scale": "quick"}) == 0
    assert json.loads(merged.read_text()) == {"toy": {"n_instances": 2, "total": 5.0},
                                              "scale": "quick"}


def test_a_failed_job_is_one_line_and_writes_no_output(tmp_path: Path, capsys) -> None:
    out = tmp_path / "batch.json"
    status = _job("batch", tmp_path, output={"records": str(out)},
                  params={"overrides": {"bad": ["experiment.name=no_such_experiment"]},
                          "cache_dir": str(tmp_path / "cache"), "conf_dir": str(REPO / "conf")})
    err = capsys.readouterr().err
    assert status == 1 and not out.exists()
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and "'bad'" in err and "batch.log" in err
    assert job.main(["nonsense", "{}", str(tmp_path / "x.log")]) == 2


def test_the_report_job_writes_the_page_and_restores_it_unchanged(tmp_path: Path,
                                                                   monkeypatch) -> None:
    png, caption, summary = tmp_path / "toy.png", tmp_path / "toy.rst", tmp_path / "s.json"
    png.write_bytes(b"\x89PNG fake")
    caption.write_text("The toy figure.")
    summary.write_text(json.dumps({"toy": {"n_instances": 2, "total": 5.0}}))
    page = tmp_path / "report.html"
    spec = dict(input={"pngs": [str(png)], "captions": [str(caption)], "summary": str(summary)},
                output={"0": str(page)}, wildcards={"scale": "quick"},
                params={"figures": [["toy", "toy"]], "cache_dir": str(tmp_path / "cache")})
    assert _job("report", tmp_path, **spec) == 0
    first = page.read_bytes()
    assert b"The toy figure." in first and b"quick" in first
    page.unlink()
    monkeypatch.setattr(registry, "get", lambda name: pytest.fail("looked up " + name))
    assert _job("report", tmp_path, **spec) == 0
    assert page.read_bytes() == first
    caption.write_text("An edited caption.")  # another input: drawn again
    monkeypatch.undo()
    assert _job("report", tmp_path, **spec) == 0
    assert b"An edited caption." in page.read_bytes()
