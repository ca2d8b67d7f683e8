"""A lock left by a killed Snakemake run is removed only when no other Snakemake can be
using the folder, and a killed report never leaves an empty report."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from convex_coding.pipeline import snakemake_guard as sg


def _locked(tmp_path: Path) -> Path:
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("a\n")
    (locks / "0.output.lock").write_text("b\n")
    return locks


def _record(tmp_path: Path, pid: int, host: str | None = None, start=None) -> Path:
    runs = tmp_path / ".snakemake" / sg.RUNS
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / f"{host or socket.gethostname()}-{pid}.json"
    path.write_text(json.dumps({"host": host or socket.gethostname(), "pid": pid,
                                "start": start if start is not None else sg._start_time(pid)}))
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_no_lock_nothing_to_do(tmp_path: Path) -> None:
    assert sg.clear_stale_locks(tmp_path) is None


def test_lock_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    locks = _locked(tmp_path)
    record = _record(tmp_path, _dead_pid(), start="1")
    message = sg.clear_stale_locks(tmp_path)
    assert message is not None and "removed the lock" in message
    assert not list(locks.glob("*.lock")) and not record.exists()


def test_lock_of_a_running_snakemake_is_kept(tmp_path: Path) -> None:
    locks = _locked(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _record(tmp_path, proc.pid)
        message = sg.clear_stale_locks(tmp_path)
    finally:
        proc.kill()
        proc.wait()
    assert message is not None and f"pid {proc.pid} is running" in message
    assert "snakemake --unlock" in message
    assert len(list(locks.glob("*.lock"))) == 2


def test_reused_pid_is_not_mistaken_for_the_recorded_run(tmp_path: Path) -> None:
    locks = _locked(tmp_path)
    _record(tmp_path, os.getpid(), start="not-my-start-time")
    assert "removed the lock" in sg.clear_stale_locks(tmp_path)
    assert not list(locks.glob("*.lock"))


def test_lock_from_another_host_is_kept_with_instructions(tmp_path: Path) -> None:
    locks = _locked(tmp_path)
    _record(tmp_path, 12345, host="login-node-2", start="1")
    message = sg.clear_stale_locks(tmp_path)
    assert "login-node-2" in message and "snakemake --unlock" in message
    assert len(list(locks.glob("*.lock"))) == 2


def test_other_snakemake_process_in_the_folder_keeps_the_lock(tmp_path: Path) -> None:
    locks = _locked(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c",
                             "import time; print(1, flush=True); time.sleep(30)", "snakemake"],
                            cwd=tmp_path, stdout=subprocess.PIPE)
    try:
        proc.stdout.readline()  # started (its command line and folder are its own)
        message = sg.clear_stale_locks(tmp_path)
    finally:
        proc.kill()
        proc.wait()
    if not Path("/proc").is_dir():
        pytest.skip("no /proc on this system")
    assert f"pid {proc.pid}: a run" in message and "snakemake --unlock" in message
    assert len(list(locks.glob("*.lock"))) == 2


def test_jobs_on_cluster_nodes_never_touch_the_lock(tmp_path: Path) -> None:
    locks = _locked(tmp_path)
    _record(tmp_path, _dead_pid(), start="1")
    assert sg.guard(SimpleNamespace(is_main_process=False), tmp_path) is None
    assert len(list(locks.glob("*.lock"))) == 2


class _Reporter:
    """Writes its file in two steps, like a report killed half-way when ``fail``."""

    def __init__(self, path: Path, fail: bool) -> None:
        self.settings = SimpleNamespace(path=path)
        self.fail = fail

    def render(self) -> None:
        with open(self.settings.path, "w") as fh:
            fh.write("<html>")
            if self.fail:
                raise KeyboardInterrupt
            fh.write("</html>")


def test_killed_report_leaves_the_previous_report(tmp_path: Path) -> None:
    render = sg.atomic_render(_Reporter.render)
    out = tmp_path / "report.html"
    render(_Reporter(out, fail=False))
    assert out.read_text() == "<html></html>"
    with pytest.raises(KeyboardInterrupt):
        render(_Reporter(out, fail=True))
    assert out.read_text() == "<html></html>"  # not empty, not truncated
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_snakemake_reporter_is_wrapped() -> None:
    pytest.importorskip("snakemake")
    assert sg.atomic_reports()
    from snakemake.report.html_reporter import Reporter

    assert getattr(Reporter.render, "_atomic", False)
    assert sg.atomic_reports()  # idempotent
    assert not hasattr(Reporter.render.__wrapped__, "_atomic")
