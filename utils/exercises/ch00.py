"""Checkers for chapter 00 (set-up and tour): one warm-up exercise that shows how checking works."""

import numpy as np

from .fixtures import as_array
from .framework import Exercise, Incorrect, call_answer


def _check_to_tanh_range(to_tanh_range):
    pixels = np.array([[0, 51, 255], [255, 128, 0]], dtype=np.uint8)
    out = as_array(call_answer(to_tanh_range, pixels))
    if out.shape != pixels.shape:
        raise Incorrect(f"the output should keep the input's shape {pixels.shape}, got {out.shape}")
    if not np.issubdtype(out.dtype, np.floating):
        raise Incorrect(f"return floats (float32), not {out.dtype}: integer division loses the fractions")
    if out.min() >= 0 and np.isclose(out.max(), 1):
        raise Incorrect("values lie in [0, 1]; a tanh generator needs [-1, 1]: scale to [0, 1], then * 2 - 1")
    if np.isclose(out.max(), 255) or out.max() > 1.0001:
        raise Incorrect(f"the largest value is {out.max():.4g}; pixel 255 should map to 1.0")
    expected = pixels / 127.5 - 1.0
    if not np.allclose(out, expected, atol=1e-5):
        raise Incorrect(f"0 should map to -1 and 255 to 1; for {pixels.tolist()} expected {expected.round(3).tolist()}")
    return "Pixels 0..255 now lie in [-1, 1], the range of a tanh output layer."


q1 = Exercise(
    "Scale pixels to [-1, 1]",
    _check_to_tanh_range,
    hint="Convert to float32 first, divide by 127.5, then subtract 1.",
)
