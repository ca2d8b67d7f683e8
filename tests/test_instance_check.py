"""Before any job runs, every configured instance of the jobs about to run is composed and
its config checked (no solve); a rerun checks only what is new or changed."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

from convex_coding.pipeline.workflow_config import check_instances, error_lines, job_instances

CONF = Path(__file__).resolve().parents[1] / "conf"
GOOD = ["experiment=identifiability", "dataset=grid", "lambda_w=0.3"]


def test_bad_instances_are_named_and_grouped_by_cause(tmp_path: Path) -> None:
    runs = [("a", GOOD), ("b", ["experiment=on_off_density", "rho=2"]),
            ("c", ["experiment=on_off_density", "stimulus=laplace", "rho=2"]),
            ("d", ["experiment=tuning_uniqueness", "population=nope"])]
    errors = check_instances(runs, CONF)
    assert [e[0].split(" (")[0] for e in errors] == [
        "on_off_density instance 'b'", "on_off_density instance 'c'",
        "tuning_uniqueness instance 'd'"]
    lines = error_lines(errors)
    assert len(lines) == 2 and all("\n" not in ln for ln in lines)
    assert lines[0].startswith("rho=2 is invalid; allowed:") and "(2 instances, first: " in lines[0]


def test_memo_checks_only_new_instances_and_follows_the_hydra_files(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    memo = tmp_path / "checked.json"
    assert check_instances([("a", GOOD)], conf, memo) == []
    assert memo.exists()
    # the same instance again: nothing composed (a broken conf folder would not matter)
    exp = conf / "experiment" / "identifiability.yaml"
    text = exp.read_text()
    exp.write_text(text.replace("value_tol: 1.0e-5", "value_tol: 2.0"))
    errors = check_instances([("a", GOOD)], conf, memo)  # the Hydra files changed: rechecked
    assert len(errors) == 1 and "experiment.value_tol=2.0 is invalid" in errors[0][1]
    exp.write_text(text)
    assert check_instances([("a", GOOD)], conf, memo) == []


def test_job_instances_reads_list_and_named_overrides() -> None:
    def job(name, overrides):
        return SimpleNamespace(rule=SimpleNamespace(name=name), output=[f"{name}.json"],
                               params=SimpleNamespace(overrides=overrides))

    jobs = [job("batch", [["seed=0"], ["seed=1"]]), job("showcase", {"x": ["seed=2"]}),
            SimpleNamespace(rule=SimpleNamespace(name="figure"), output=[], params=None)]
    assert job_instances(jobs) == [("batch[batch.json] 0", ["seed=0"]),
                                   ("batch[batch.json] 1", ["seed=1"]),
                                   ("showcase[showcase.json] x", ["seed=2"])]
