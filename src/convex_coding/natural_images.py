r"""Retina-like and cortex-like variables from the natural images shipped with scikit-image.

Both are computed from the luminance ``L`` (grey levels in [0, 1], ``skimage.color.rgb2gray``
for colour images) with Gaussian filters ``G_σ *`` (``scipy.ndimage``), and a border of
``3σ_s`` pixels is dropped so that no value depends on the padding.

*Retina-like: local luminance contrast* (a centre–surround cell's drive),

    c(x) = (G_{σ_c} * L − G_{σ_s} * L)(x) / (G_{σ_s} * L)(x),

dense and two-signed (a Weber contrast against the local mean; ``σ_c = 1``, ``σ_s = 4`` px).

*Cortex-like: rectified oriented edge responses* (a simple cell's output),

    e_θ(x) = max(0, (n_θ · ∇(G_{σ_e} * L))(x) / (G_{σ_s} * L)(x)),

for ``θ`` in ``n_orientations`` evenly spaced directions ``n_θ = (cos θ, sin θ)`` (derivative
of Gaussian, contrast-normalised by the same local mean, ``σ_e = 1.5`` px); the responses of
all orientations are pooled.  Half-wave rectification of a zero-median response puts half the
mass at 0, so ``Pr(I = 0) ≈ 1/2 ≥ r/(1 + r)`` for any slab (``r ≤ 1``): a single channel.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: images of ``skimage.data`` that ship with the package (no download) and are natural scenes
IMAGES: tuple[str, ...] = ("camera", "astronaut", "coffee", "chelsea", "rocket", "grass")
FEATURES: tuple[str, ...] = ("contrast", "edges")


def luminance(name: str) -> np.ndarray:
    """The image's luminance in [0, 1] (``ValueError`` for an unknown name)."""
    if name not in IMAGES:
        raise ValueError(f"image {name!r} is unknown; allowed: {', '.join(IMAGES)}")
    from skimage import color, data

    image = getattr(data, name)()
    grey = color.rgb2gray(image) if image.ndim == 3 else image / 255.0
    return np.asarray(grey, dtype=float)


def _crop(a: np.ndarray, border: int) -> np.ndarray:
    return a[border:-border, border:-border]


def local_contrast(lum: np.ndarray, sigma_centre: float = 1.0,
                   sigma_surround: float = 4.0) -> np.ndarray:
    """Centre–surround Weber contrast at every pixel (module doc), border dropped."""
    centre = ndimage.gaussian_filter(lum, sigma_centre)
    surround = ndimage.gaussian_filter(lum, sigma_surround)
    floor = 1e-3  # black pixels: contrast against a 0.1 % grey instead of dividing by 0
    c = (centre - surround) / np.maximum(surround, floor)
    return _crop(c, int(np.ceil(3 * sigma_surround))).ravel()


def edge_responses(lum: np.ndarray, sigma_edge: float = 1.5, sigma_surround: float = 4.0,
                   n_orientations: int = 4) -> np.ndarray:
    """Rectified, contrast-normalised oriented derivative-of-Gaussian responses, pooled over
    ``n_orientations`` directions (module doc), border dropped."""
    gy = ndimage.gaussian_filter(lum, sigma_edge, order=(1, 0))
    gx = ndimage.gaussian_filter(lum, sigma_edge, order=(0, 1))
    surround = np.maximum(ndimage.gaussian_filter(lum, sigma_surround), 1e-3)
    border = int(np.ceil(3 * max(sigma_edge, sigma_surround)))
    out = []
    for theta in np.arange(n_orientations) * np.pi / n_orientations:
        r = (np.cos(theta) * gx + np.sin(theta) * gy) / surround
        out.append(_crop(np.maximum(r, 0.0), border).ravel())
    return np.concatenate(out)


def image_variable_samples(name: str, feature: str) -> np.ndarray:
    """The samples of ``feature`` (``contrast`` or ``edges``) over the image ``name``."""
    lum = luminance(name)
    if feature == "contrast":
        return local_contrast(lum)
    if feature == "edges":
        return edge_responses(lum)
    raise ValueError(f"feature {feature!r} is unknown; allowed: {', '.join(FEATURES)}")
