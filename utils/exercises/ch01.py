"""Checkers for chapter 01 (image generation principles)."""

import numpy as np

from .fixtures import as_array
from .framework import Exercise, Incorrect, call_answer


def _check_alpha_composite(alpha_composite):
    rng = np.random.default_rng(0)
    fg, bg = rng.random((6, 5, 3)), rng.random((6, 5, 3))
    mask = np.zeros((6, 5))
    mask[1:4, 1:3] = 1.0
    mask[4, 4] = 0.25  # a soft edge pixel
    out = as_array(call_answer(alpha_composite, fg, bg, mask))
    if out.shape != fg.shape:
        raise Incorrect(f"output shape {out.shape}, expected {fg.shape}: broadcast the (H, W) mask over channels "
                        "with mask[..., None]")
    expected = fg * mask[..., None] + bg * (1 - mask[..., None])
    if np.allclose(out, fg * (1 - mask[..., None]) + bg * mask[..., None]):
        raise Incorrect("foreground and background are swapped: where the mask is 1 you should see the foreground")
    if np.allclose(out, fg * mask[..., None] + bg):
        raise Incorrect("the background is added everywhere: weight it by (1 - mask) so the weights sum to 1")
    if not np.allclose(out[4, 4], expected[4, 4]) and np.allclose(out[mask == 1], expected[mask == 1]):
        raise Incorrect("hard masks work but the soft edge (mask 0.25) is wrong: blend, do not threshold")
    if not np.allclose(out, expected):
        raise Incorrect("the result differs from mask * foreground + (1 - mask) * background")
    return "That is alpha compositing, the basis of every cut-and-paste synthesis."


def _check_disc_mask(disc_mask):
    size, center, radius = 41, (10, 25), 8.0
    mask = as_array(call_answer(disc_mask, size, center, radius))
    if mask.shape != (size, size):
        raise Incorrect(f"mask shape {mask.shape}, expected ({size}, {size})")
    values = np.unique(mask.astype(float))
    if not set(values) <= {0.0, 1.0}:
        raise Incorrect(f"a hard mask holds only 0 and 1 (or False/True), found {values[:5]}")
    area = mask.astype(float).sum()
    if abs(area - np.pi * radius**2) > 0.1 * np.pi * radius**2:
        if abs(area - np.pi * radius) < 0.2 * np.pi * radius**2 or area < 0.5 * np.pi * radius**2:
            raise Incorrect(f"the disc covers {area:.0f} pixels, expected about pi*r^2 = {np.pi * radius ** 2:.0f}: "
                            "compare the squared distance with radius**2 (not with radius)")
        raise Incorrect(f"the disc covers {area:.0f} pixels, expected about {np.pi * radius ** 2:.0f}")
    rows, cols = np.nonzero(mask)
    found = (rows.mean(), cols.mean())
    if np.allclose(found, center[::-1], atol=1):
        raise Incorrect("rows and columns are swapped: center is (row, col), i.e. (y, x)")
    if not np.allclose(found, center, atol=1):
        raise Incorrect(f"the disc is centred at {tuple(round(v, 1) for v in found)}, expected {center}")
    return "A disc mask: the simplest rule-based shape."


def _check_pca_sample(pca_sample):
    rng = np.random.default_rng(1)
    dim, k, n = 12, 3, 20_000
    mean = rng.normal(size=dim)
    components = np.linalg.qr(rng.normal(size=(dim, k)))[0].T  # k orthonormal rows
    stddevs = np.array([3.0, 1.5, 0.5])
    samples = as_array(call_answer(pca_sample, mean, components, stddevs, n, 0))
    if samples.shape != (n, dim):
        raise Incorrect(f"expected shape (n, D) = {(n, dim)}, got {samples.shape}")
    again = as_array(call_answer(pca_sample, mean, components, stddevs, n, 0))
    if not np.allclose(samples, again):
        raise Incorrect("the same seed gave different samples: draw z with np.random.default_rng(seed)")
    if np.allclose(samples.mean(0), 0, atol=0.1) and not np.allclose(mean, 0, atol=0.1):
        raise Incorrect("the samples are centred at 0: add the mean image back")
    if not np.allclose(samples.mean(0), mean, atol=0.1):
        raise Incorrect("the sample mean is far from `mean`")
    spread = ((samples - mean) @ components.T).std(0)
    if np.allclose(spread, stddevs**2, rtol=0.05):
        raise Incorrect("the spread along each component equals the variance: multiply z by the standard "
                        "deviation, not the variance")
    if np.allclose(spread, 1.0, rtol=0.05):
        raise Incorrect("every component has spread 1: scale z by `stddevs` before mapping back")
    if not np.allclose(spread, stddevs, rtol=0.05):
        raise Incorrect(f"spread along the components {spread.round(2)}, expected {stddevs}")
    return "You sampled from a Gaussian fitted with PCA: a (blurry) generative model of images."


q1 = Exercise(
    "Alpha compositing",
    _check_alpha_composite,
    hint="Broadcast the mask over the colour channels with mask[..., None]; the two weights must add up to 1.",
)
q2 = Exercise(
    "A disc mask",
    _check_disc_mask,
    hint="np.mgrid[:size, :size] gives row and column coordinates; keep the pixels whose squared distance "
         "to the centre is at most radius**2.",
)
q3 = Exercise(
    "Sample from a PCA Gaussian",
    _check_pca_sample,
    hint="Draw z ~ N(0, I) of shape (n, k), multiply by stddevs, map back with @ components, then add the mean.",
)
