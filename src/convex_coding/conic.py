r"""Small conic programs in standard form, solved without a modelling layer.

A :class:`ConeProgram` is

    min cᵀx   s.t.   b − Ax ∈ K = {0}^z × ℝ₊^l × S₊^{n₁} × … × S₊^{n_k},

with each PSD block in *svec* form: the upper triangle in column-major order, the
off-diagonal entries scaled by √2, so that ``⟨svec X, svec Y⟩ = Tr(XY)``.  This is
Clarabel's own input format, so a Clarabel solve is one call with no canonicalisation;
for the many tiny programs of Theorem 1 (a few dozen variables) cvxpy's compilation
cost 10–30 times the solve itself.  Any other configured solver (SCS, MOSEK) gets the
same program rebuilt as a cvxpy problem, so one formulation serves every backend.

A status other than optimal is a :class:`~convex_coding.solvers.SolverError`, exactly
as for :func:`~convex_coding.solvers.solve_checked`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .solvers import SolverError, SolverSettings, resolve_solver, solve_checked

if TYPE_CHECKING:
    import scipy.sparse as sp

#: cvxpy-only keywords that have no meaning for a direct solve.
_MODELLING_OPTIONS = frozenset({"canon_backend"})


@functools.cache
def svec_index(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and √2-scales of ``svec`` for an ``n × n`` symmetric matrix.

    Entry ``k`` of ``svec X`` is ``scale[k] · X[rows[k], cols[k]]`` (upper triangle,
    column by column, off-diagonals ×√2).
    """
    cols = np.concatenate([np.full(j + 1, j) for j in range(n)])
    rows = np.concatenate([np.arange(j + 1) for j in range(n)])
    scale = np.where(rows == cols, 1.0, np.sqrt(2.0))
    return rows, cols, scale


def svec(matrix: np.ndarray) -> np.ndarray:
    """``svec`` over the first two axes of ``matrix`` (``n × n × …`` → ``n(n+1)/2 × …``)."""
    rows, cols, scale = svec_index(matrix.shape[0])
    return matrix[rows, cols] * scale.reshape((-1,) + (1,) * (matrix.ndim - 2))


def smat(vector: np.ndarray) -> np.ndarray:
    """Inverse of :func:`svec` for one vector: the symmetric matrix it encodes."""
    n = round((np.sqrt(8 * len(vector) + 1) - 1) / 2)
    rows, cols, scale = svec_index(n)
    out = np.zeros((n, n))
    out[rows, cols] = vector / scale
    out[cols, rows] = vector / scale
    return out


@dataclass(frozen=True)
class ConeProgram:
    """``min cᵀx`` s.t. ``b − Ax`` in zero, nonnegative and PSD (svec) cones, in that order."""

    c: np.ndarray
    a: sp.csc_matrix
    b: np.ndarray
    n_zero: int = 0
    n_nonneg: int = 0
    psd_dims: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        rows = self.n_zero + self.n_nonneg + sum(n * (n + 1) // 2 for n in self.psd_dims)
        if self.a.shape != (rows, len(self.c)) or len(self.b) != rows:
            raise ValueError(
                f"cone program is inconsistent: A is {self.a.shape}, b has {len(self.b)} "
                f"rows, c has {len(self.c)} entries, the cones need {rows} rows"
            )


@dataclass(frozen=True)
class ConeSolution:
    """Primal optimum ``x``, dual optimum ``z``, objective ``cᵀx`` and the checked status.

    ``z`` lies in the dual cone (free on the zero rows) and satisfies ``c + Aᵀz = 0``,
    so that ``−bᵀz = cᵀx`` at optimality (Clarabel's convention, kept for every backend).
    """

    x: np.ndarray
    z: np.ndarray
    value: float
    status: str
    solver: str
    solve_time: float | None


def psd_block(coefficients: np.ndarray, constant: np.ndarray | None = None
              ) -> tuple[sp.csc_matrix, np.ndarray]:
    """Rows ``(A, b)`` expressing ``M(x) = constant + Σ_j coefficients[:, :, j] x_j ⪰ 0``.

    ``coefficients`` is ``n × n × n_x`` (symmetric in its first two axes); the rows
    satisfy ``b − Ax = svec M(x)``.
    """
    a = -svec(coefficients)
    b = np.zeros(a.shape[0]) if constant is None else svec(constant)
    import scipy.sparse as sp

    return sp.csc_matrix(a), b


def solve_cone_program(program: ConeProgram, settings: SolverSettings) -> ConeSolution:
    """Solve ``program`` with the configured solver; raise unless optimal."""
    name = resolve_solver(settings.name)
    if name == "CLARABEL":
        return _solve_clarabel(program, settings)
    return _solve_cvxpy(program, settings, name)


def _solve_clarabel(program: ConeProgram, settings: SolverSettings) -> ConeSolution:
    import clarabel

    opts = clarabel.DefaultSettings()
    opts.verbose = False
    for key, value in settings.options.items():
        if key in _MODELLING_OPTIONS:
            continue
        if not hasattr(opts, key):
            raise SolverError(f"CLARABEL has no setting {key!r} (conf/solver/clarabel.yaml)")
        setattr(opts, key, value)
    cones = []
    if program.n_zero:
        cones.append(clarabel.ZeroConeT(program.n_zero))
    if program.n_nonneg:
        cones.append(clarabel.NonnegativeConeT(program.n_nonneg))
    cones.extend(clarabel.PSDTriangleConeT(n) for n in program.psd_dims)
    import scipy.sparse as sp

    n_x = len(program.c)
    solver = clarabel.DefaultSolver(
        sp.csc_matrix((n_x, n_x)), np.asarray(program.c, dtype=float),
        program.a.tocsc(), np.asarray(program.b, dtype=float), cones, opts,
    )
    sol = solver.solve()
    status = str(sol.status)
    if status != "Solved":
        raise SolverError(f"CLARABEL returned status {status!r}, not 'Solved'")
    x = np.asarray(sol.x, dtype=float)
    return ConeSolution(x=x, z=np.asarray(sol.z, dtype=float), value=float(program.c @ x),
                        status="optimal", solver="CLARABEL", solve_time=float(sol.solve_time))


def _solve_cvxpy(program: ConeProgram, settings: SolverSettings, name: str) -> ConeSolution:
    """The same program as a cvxpy problem (for SCS, MOSEK)."""
    import cvxpy as cp

    x = cp.Variable(len(program.c))
    slack = program.b - program.a @ x
    constraints, start = [], 0
    if program.n_zero:
        constraints.append(program.a[:program.n_zero] @ x == program.b[:program.n_zero])
        start = program.n_zero
    if program.n_nonneg:
        constraints.append(slack[start:start + program.n_nonneg] >= 0)
        start += program.n_nonneg
    for n in program.psd_dims:
        size = n * (n + 1) // 2
        rows, cols, scale = svec_index(n)
        unvec = np.zeros((n * n, size))  # vec(X) (row-major) from svec X
        unvec[rows * n + cols, np.arange(size)] = 1 / scale
        unvec[cols * n + rows, np.arange(size)] = 1 / scale
        block = cp.reshape(unvec @ slack[start:start + size], (n, n), order="C")
        constraints.append(0.5 * (block + block.T) >> 0)
        start += size
    problem = cp.Problem(cp.Minimize(program.c @ x), constraints)
    report = solve_checked(problem, SolverSettings(name, settings.options))
    values = np.asarray(x.value, dtype=float)
    # cvxpy's multipliers already satisfy c + Aᵀz = 0 with these constraint forms (the
    # tests pin it); a PSD multiplier comes as a matrix
    n_vector = int(program.n_zero > 0) + int(program.n_nonneg > 0)
    z = np.concatenate([np.ravel(con.dual_value) for con in constraints[:n_vector]]
                       + [svec(np.asarray(con.dual_value)) for con in constraints[n_vector:]])
    return ConeSolution(x=values, z=z, value=float(program.c @ values), status=report.status,
                        solver=report.solver, solve_time=report.solve_time)
