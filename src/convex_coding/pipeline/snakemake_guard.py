"""Safe to kill, safe to rerun: Snakemake's lock after a kill, and an atomic ``--report``.

Snakemake locks the working folder (``.snakemake/locks/*.lock``) while it runs and removes
the lock when it ends; a run killed with ``kill -9`` (or a power cut) leaves the lock
behind, and every later run stops with *Directory cannot be locked* until ``--unlock``.
:func:`clear_stale_locks`, called when the main Snakemake process parses the workflow
(``workflow/rules/guard.smk``), removes such a lock when no other Snakemake can be using
the folder:

* every main Snakemake process of this workflow records itself in
  ``.snakemake/convex_coding_runs/<host>-<pid>.json`` (host, pid, process start time) and
  removes the record when it exits; a kill leaves the record, whose process is then gone;
* a lock is *stale* when every record names this host and a process that no longer
  exists (or another process with the same pid), and no process on this host runs
  ``snakemake`` in this folder (``/proc``; the caller's own ancestors excepted).

A record from another host (a cluster's second login node) cannot be checked from here: the
lock is then kept and the message says exactly what to do.  :func:`atomic_reports` makes
``snakemake --report`` write its file under a temporary name and rename it, so a killed
report leaves the previous report (or none), never an empty or truncated one.

Not part of any cache key (it neither produces nor checks a result).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUNS = "convex_coding_runs"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (``/proc/<pid>/stat`` field 22), or ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` is the same process that was recorded (start time compared)."""
    now = _start_time(pid)
    if now is not None:
        return start is None or now == start
    if Path("/proc/self/stat").exists():
        return False  # Linux: no /proc entry, no process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ancestors() -> set[int]:
    pids, pid = {os.getpid()}, os.getppid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def other_snakemake_here(workdir: Path) -> int | None:
    """The pid of another process on this host running ``snakemake`` in ``workdir``."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    mine, here = _ancestors(), str(Path(workdir).resolve())
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            if b"snakemake" not in (entry / "cmdline").read_bytes():
                continue
            if os.readlink(entry / "cwd") == here:
                return int(entry.name)
        except OSError:  # gone, or another user's: its folder is not ours to judge
            continue
    return None


def _records(runs: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(runs.glob("*.json")):
        try:
            out.append((path, json.loads(path.read_text())))
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    return out


def clear_stale_locks(workdir: Path | str = ".") -> str | None:
    """Remove Snakemake's lock of ``workdir`` if it is stale (see the module docstring).

    Returns one line for the console (what was done, or what the user must do), or
    ``None`` when there was no lock.
    """
    dot = Path(workdir) / ".snakemake"
    locks = sorted((dot / "locks").glob("*.lock"))
    runs = dot / RUNS
    host = socket.gethostname()
    live, elsewhere = [], []
    for path, rec in _records(runs):
        if rec.get("host") != host:
            elsewhere.append(rec)
        elif _alive(int(rec.get("pid", -1)), rec.get("start")):
            live.append(rec)
        else:
            path.unlink(missing_ok=True)  # its process was killed: the record is stale
    if not locks:
        return None
    unlock = ("if it is not running any more, run `snakemake --unlock` (with the same "
              "--config) once, then your command again")
    if live:
        return (f"note: Snakemake pid {live[0]['pid']} is running in this folder and holds "
                f"its lock; {unlock}")
    if elsewhere:
        rec = elsewhere[0]
        return (f"note: this folder is locked by Snakemake pid {rec.get('pid')} on host "
                f"{rec.get('host')} (cannot be checked from {host}); {unlock}")
    other = other_snakemake_here(Path(workdir))
    if other is not None:
        return (f"note: a Snakemake process (pid {other}: a run, or a job of a killed run "
                "that ends by itself) is running in this folder; wait for it to end and "
                f"rerun; {unlock}")
    for lock in locks:
        lock.unlink(missing_ok=True)
    return ("note: removed the lock left by a killed Snakemake run (no other Snakemake is "
            "running in this folder)")


def register_run(workdir: Path | str = ".") -> Path:
    """Record this process as a main Snakemake run of ``workdir`` until it exits."""
    runs = Path(workdir) / ".snakemake" / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    path = runs / f"{socket.gethostname()}-{pid}.json"
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": pid,
                                "start": _start_time(pid)}))
    atexit.register(path.unlink, missing_ok=True)
    return path


def atomic_render(render: Callable[[Any], None]) -> Callable[[Any], None]:
    """Wrap a reporter's ``render(self)`` (which writes ``self.settings.path``) so that it
    writes a temporary file next to it and renames it into place when complete."""
    if getattr(render, "_atomic", False):
        return render

    @functools.wraps(render)
    def wrapped(self: Any) -> None:
        final = Path(self.settings.path)
        tmp = final.with_name(f".{final.stem}.partial{final.suffix}")
        self.settings.path = tmp
        try:
            render(self)
            os.replace(tmp, final)
        finally:
            self.settings.path = final
            tmp.unlink(missing_ok=True)

    wrapped._atomic = True  # type: ignore[attr-defined]
    return wrapped


def atomic_reports() -> bool:
    """Make Snakemake's HTML/ZIP reporter write atomically; ``False`` if its internals
    are not where this Snakemake version is known to keep them (then nothing changes)."""
    try:
        from snakemake.report.html_reporter import Reporter
    except ImportError:
        return False
    if not callable(getattr(Reporter, "render", None)):
        return False
    Reporter.render = atomic_render(Reporter.render)
    return True


def guard(workflow: Any, workdir: Path | str = ".") -> str | None:
    """All of the above for the main Snakemake process (never for a job's own Snakemake
    on a cluster node, which must not touch the main process's lock)."""
    if not getattr(workflow, "is_main_process", False):
        return None
    message = clear_stale_locks(workdir)
    register_run(workdir)
    atomic_reports()
    return message
