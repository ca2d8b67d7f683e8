r"""ON and OFF channels of a scalar variable under an affine readout (the paper's Fig. 3 model).

One scalar variable ``I`` (a finite distribution, :class:`Variable`), any number of
nonnegative tunings ``z_i(I)``, an affine readout ``Σ_i w_i z_i(I) + b = I`` and cost
``Σ_i ‖z_i‖² + λ‖w‖²``.  The optimum is the ramp pair at the minimiser ``b*`` of the convex
bracket ``F(b) = ‖(I − b)₊‖ + ‖(b − I)₊‖`` (:mod:`.closed_form`); its optimality over all
nonnegative codes is certified exactly in function space and in ``Q`` space
(:mod:`.certificates`) and checked independently by a dictionary (inner) and a doubly
nonnegative (outer) bound (:mod:`.bounds`).  The derivation is ``docs/on_off_channels.md``.

    >>> from convex_coding import affine_channels as ac
    >>> code = ac.optimal_code(ac.sparse_variable("exponential", 0.2, 400), lam=1.0)
    >>> code.names, ac.certify(code).violation < 1e-12
    (('ON', 'OFF'), True)
"""

from .bounds import DictionaryBound, dictionary_bound, dnn_bound, dual_bound
from .certificates import (
    Certificate,
    QCertificate,
    certify,
    dual_vector,
    q_space_certificate,
)
from .closed_form import (
    AffineCode,
    CodeSummary,
    bracket,
    off_vanishes_predicted,
    one_sided_derivative,
    optimal_bias,
    optimal_code,
    population_threshold,
    ramp_code,
    sample_threshold,
    summarise,
)
from .variables import (
    MIN_SAMPLES,
    SHAPED,
    SLAB_LAWS,
    SYMMETRIC_LAWS,
    Variable,
    compress,
    samples_variable,
    skewed_variable,
    slab_moments,
    slab_samples,
    sparse_variable,
    symmetric_variable,
    validate_samples,
)

__all__ = [
    "MIN_SAMPLES", "SHAPED", "SLAB_LAWS", "SYMMETRIC_LAWS", "AffineCode", "Certificate",
    "CodeSummary", "DictionaryBound", "QCertificate", "Variable", "bracket", "certify",
    "compress", "dictionary_bound", "dnn_bound", "dual_bound", "dual_vector",
    "off_vanishes_predicted",
    "one_sided_derivative", "optimal_bias", "optimal_code", "population_threshold",
    "q_space_certificate", "ramp_code", "sample_threshold", "samples_variable",
    "skewed_variable", "slab_moments", "slab_samples", "sparse_variable", "summarise",
    "symmetric_variable", "validate_samples",
]
