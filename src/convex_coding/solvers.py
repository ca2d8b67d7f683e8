"""Conic solver choice and checked solves.

Every solve names its solver explicitly: once the ``mosek`` package is installed
without a licence, cvxpy would otherwise pick MOSEK by default and fail.  A status
other than ``optimal`` is an error (:class:`SolverError`), never a result.
"""

from __future__ import annotations

import functools
import importlib.util
import warnings
from dataclasses import dataclass, field
from typing import Any

from ._lazy import cvxpy as cp

#: Solvers this project supports, by the name used in ``conf/solver/*.yaml``.
SUPPORTED_SOLVERS: tuple[str, ...] = ("CLARABEL", "SCS", "MOSEK")
DEFAULT_SOLVER = "CLARABEL"


class SolverError(RuntimeError):
    """A conic solve did not return a certified optimal status."""


class SolverUnavailableError(ValueError):
    """The requested solver is not installed or not licensed on this machine."""


@dataclass(frozen=True)
class SolverSettings:
    """Solver name and its options (passed verbatim to the solver).

    ``SolverSettings()`` is CLARABEL at *its* default tolerances (~1e-8); the library's
    documented default is :meth:`precise` (= :data:`PRECISE`, the pipeline's
    ``conf/solver/clarabel.yaml``: gap and feasibility tolerances 1e-10)."""

    name: str = DEFAULT_SOLVER
    options: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "options": dict(sorted(self.options.items()))}

    @classmethod
    def precise(cls, name: str = DEFAULT_SOLVER) -> SolverSettings:
        """Gap and feasibility tolerances 1e-10 (CLARABEL's option names)."""
        return cls(name, {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10})


@functools.cache
def mosek_licensed() -> bool:
    """True when MOSEK is installed *and* a licence can be checked out."""
    if "MOSEK" not in installed_solvers():
        return False
    try:
        import mosek

        with mosek.Env() as env:
            env.checkoutlicense(mosek.feature.pts)
        return True
    except Exception:  # any licence failure means "not usable"
        return False


#: The Python package behind each supported solver.
SOLVER_PACKAGES: dict[str, str] = {"CLARABEL": "clarabel", "SCS": "scs", "MOSEK": "mosek"}


@functools.cache
def installed_solvers() -> frozenset[str]:
    """The supported solvers whose package is installed, found without importing them
    (or cvxpy): checking a config must not cost the ~3 s of the solver stack, which a
    run that only reads cached results never loads.  Looked up once per process."""
    return frozenset(name for name, package in SOLVER_PACKAGES.items()
                     if importlib.util.find_spec(package) is not None)


def available_solvers() -> list[str]:
    """Supported solvers usable here (MOSEK only with a licence)."""
    installed = installed_solvers()
    usable = [s for s in SUPPORTED_SOLVERS if s in installed and s != "MOSEK"]
    if mosek_licensed():
        usable.append("MOSEK")
    return usable


def resolve_solver(name: str) -> str:
    """Map a configured solver name to a usable cvxpy solver name.

    ``auto`` picks MOSEK when licensed, else CLARABEL.  An explicit solver that is not
    usable raises :class:`SolverUnavailableError` with a one-line explanation.
    """
    upper = name.upper()
    if upper == "AUTO":
        return "MOSEK" if mosek_licensed() else DEFAULT_SOLVER
    if upper not in SUPPORTED_SOLVERS:
        raise SolverUnavailableError(
            f"solver.name={name!r} is not supported; allowed: auto, "
            + ", ".join(s.lower() for s in SUPPORTED_SOLVERS)
        )
    if upper == "MOSEK" and not mosek_licensed():
        raise SolverUnavailableError(
            "solver.name=mosek but no MOSEK licence was found (install `mosek` and set "
            "MOSEKLM_LICENSE_FILE); use solver=clarabel"
        )
    if upper not in installed_solvers():
        raise SolverUnavailableError(
            f"solver.name={name!r} is not installed; available: "
            + ", ".join(s.lower() for s in available_solvers())
        )
    return upper


def solver_version(name: str) -> str:
    """Version string of a solver's Python package (recorded with every result)."""
    module = SOLVER_PACKAGES[name.upper()]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module if module != "mosek" else "Mosek")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class SolveReport:
    """What a checked solve returns besides the variable values."""

    status: str
    value: float
    solver: str
    solve_time: float | None


def solve_checked(problem: cp.Problem, settings: SolverSettings) -> SolveReport:
    """Solve ``problem`` with the named solver; raise unless the status is optimal.

    cvxpy's "Solution may be inaccurate" warning is silenced: an inaccurate end is a
    :class:`SolverError` here, so the warning only cluttered the job logs."""
    name = resolve_solver(settings.name)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            problem.solve(solver=name, **settings.options)
    except cp.error.SolverError as exc:
        raise SolverError(f"{name} failed: {exc}") from exc
    if problem.status != cp.OPTIMAL:
        raise SolverError(f"{name} returned status {problem.status!r}, not 'optimal'")
    stats = problem.solver_stats
    return SolveReport(
        status=problem.status,
        value=float(problem.value),
        solver=name,
        solve_time=None if stats is None else stats.solve_time,
    )


#: The library's default settings (:meth:`SolverSettings.precise`).
PRECISE = SolverSettings.precise()


def relaxed_settings(settings: SolverSettings, tolerances: tuple[float, ...] = (1e-9, 1e-8),
                     *, start: float | None = None) -> list[SolverSettings]:
    """The retries of a degenerate conic solve that ended ``optimal_inaccurate``:
    ``settings``, then for CLARABEL the same with stronger iterative refinement, then
    each of ``tolerances`` (with refinement).  ``start`` skips the attempts whose gap
    tolerance is tighter (a program known to end inaccurate there starts at ``start``).
    Other solvers are tried once."""
    out = [settings]
    if settings.name.upper() == "CLARABEL":
        refine = {"iterative_refinement_reltol": 1e-14, "iterative_refinement_abstol": 1e-14,
                  "iterative_refinement_max_iter": 50}
        out.append(SolverSettings(settings.name, {**settings.options, **refine}))
        for tol in tolerances:
            opts = {**settings.options, **refine,
                    "tol_gap_abs": tol, "tol_gap_rel": tol, "tol_feas": tol}
            out.append(SolverSettings(settings.name, opts))
    if start is not None:
        out = [a for a in out if a.options.get("tol_gap_abs", 1.0) >= start] or out
    return out


def solve_retrying(problem: cp.Problem, settings: SolverSettings, *,
                   tolerances: tuple[float, ...] = (1e-9, 1e-8),
                   start: float | None = None) -> SolveReport:
    """:func:`solve_checked` along :func:`relaxed_settings` (``tolerances``, ``start``):
    the first ``optimal`` report; every accepted status is ``optimal``.  When all
    attempts fail, the last :class:`SolverError` is raised, naming the tolerances."""
    last: SolverError | None = None
    for attempt in relaxed_settings(settings, tolerances, start=start):
        try:
            return solve_checked(problem, attempt)
        except SolverError as exc:
            last = exc
    tried = ", ".join(f"{t:g}" for t in tolerances)
    raise SolverError(f"{last} (also after refinement and tolerances {tried})")


def solve_relaxing(problem: cp.Problem, settings: SolverSettings, what: str) -> float:
    """Optimal value of :func:`solve_retrying` (default tolerances); a failure is raised
    as a :class:`SolverError` prefixed by ``what``."""
    try:
        return solve_retrying(problem, settings).value
    except SolverError as exc:
        raise SolverError(f"{what}: {exc}") from exc
