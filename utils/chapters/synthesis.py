"""Rule-based image synthesis with NumPy only (chapter 01, section 2; chapter 06 trains on its faces).

Before learning p(x) from data, images can be *made by rules*: move pixels (geometric transforms),
cut and paste (masks and compositing), wrap a picture onto a shape (texture mapping), grow a texture
from a small sample (texture synthesis) and draw whole scenes from a few random numbers (the
procedural cartoon faces that chapter 06 trains a DCGAN on).

Conventions used by every function here:

- images are float arrays of shape (H, W) or (H, W, C), values usually in [0, 1];
- points are ``(x, y)`` = (column, row) in pixels; pixel centres sit at integer coordinates,
  x grows to the right and y grows *downwards* (as an image is displayed);
- angles are in degrees, positive = counter-clockwise as seen on screen;
- masks are floats in [0, 1] with anti-aliased edges: 1 inside, 0 outside, a smooth ramp about
  ``softness`` pixels wide across the border (softness 0 gives hard, aliased edges).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "HAIR_STYLES", "MOUTHS", "affine_matrix", "affine_warp", "cartoon_faces", "checkerboard", "circle_mask",
    "composite", "ellipse_mask", "rect_mask", "sphere_shading", "sphere_uv", "stripes", "synthesize_texture",
    "texture_map",
]


# --------------------------------------------------------------------------------------------------
# input checks shared by the public functions
# --------------------------------------------------------------------------------------------------
def _as_image(image, name="image"):
    """Return `image` as a float array of 2 or 3 dims, or raise an error that says what to pass."""
    if not isinstance(image, np.ndarray | list | tuple):
        raise TypeError(f"{name} must be a NumPy array of shape (H, W) or (H, W, C), "
                        f"got {type(image).__name__}.")
    arr = np.asarray(image)
    if arr.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (H, W) or (H, W, C); got shape {arr.shape}.")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass an image with at least one pixel.")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}.")
    # integer images (e.g. uint8 0..255) are computed in float64 so interpolation does not round
    return arr if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.float64)


def _shape_hw(shape_hw, name="shape_hw"):
    """Validate an (H, W) pair of positive ints (an int n means (n, n))."""
    if isinstance(shape_hw, int | np.integer):
        shape_hw = (shape_hw, shape_hw)
    try:
        h, w = (int(s) for s in shape_hw)
        ok = all(float(s) == int(s) for s in shape_hw)
    except (TypeError, ValueError):
        ok = False
    if not ok or h <= 0 or w <= 0:
        raise ValueError(f"{name} must be a pair of positive ints (height, width), got {shape_hw!r}.")
    return h, w


def _point(p, name):
    try:
        x, y = (float(v) for v in p)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of numbers (x, y), got {p!r}.") from None
    return x, y


def _check_softness(softness):
    if not np.isfinite(softness) or softness < 0:
        raise ValueError(f"softness must be a number >= 0 (edge width in pixels), got {softness!r}.")


def _grid(h, w):
    """Row and column coordinates as broadcastable (H, 1) and (1, W) arrays: cheap, no (H, W) copies."""
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


# --------------------------------------------------------------------------------------------------
# geometric transforms
# --------------------------------------------------------------------------------------------------
def affine_matrix(angle_deg=0.0, scale=1.0, shear_deg=0.0, translate=(0.0, 0.0)):
    """Build the 2x3 matrix that `affine_warp` uses: an *inverse* map from output to input pixels.

    Coordinates are measured from the image centre (so rotation, scaling and shear happen about it),
    x to the right and y downwards, in pixels. For an output pixel at ``(x, y)`` the matrix gives the
    input position to read from: ``[x_in, y_in] = M @ [x, y, 1]``. Warping with the inverse map means
    every output pixel gets exactly one value and no holes appear, which forward "splatting" cannot
    promise.

    The visible effect on the image is, in this order: shear horizontally by `shear_deg` (rows below
    the centre move right for positive angles), scale by `scale` (a number, or a pair (sx, sy)),
    rotate counter-clockwise by `angle_deg`, then move by `translate` = (dx, dy) pixels (dx > 0 moves
    the content right, dy > 0 moves it down).
    """
    sx, sy = (scale, scale) if np.ndim(scale) == 0 else _point(scale, "scale")
    if sx == 0 or sy == 0 or not np.isfinite([sx, sy]).all():
        raise ValueError(f"scale must be non-zero and finite, got {scale!r}.")
    if abs(math.cos(math.radians(shear_deg))) < 1e-6:
        raise ValueError(f"shear_deg must be strictly between -90 and 90, got {shear_deg!r}.")
    tx, ty = _point(translate, "translate")
    theta = math.radians(angle_deg)
    c, s = math.cos(theta), math.sin(theta)
    # forward map (input -> output); with y pointing down a counter-clockwise turn is [[c, s], [-s, c]]
    rotate = np.array([[c, s], [-s, c]])
    forward = rotate @ np.diag([sx, sy]) @ np.array([[1.0, math.tan(math.radians(shear_deg))], [0.0, 1.0]])
    inverse = np.linalg.inv(forward)
    return np.hstack([inverse, -inverse @ np.array([[tx], [ty]])])


def _bilinear(image, x, y):
    """Sample `image` at float positions (x, y), clamping to the border; shape x.shape (+ (C,))."""
    h, w = image.shape[:2]
    x = np.clip(x, 0, w - 1)
    y = np.clip(y, 0, h - 1)
    x0 = np.floor(x).astype(np.intp)
    y0 = np.floor(y).astype(np.intp)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    wx = x - x0
    wy = y - y0
    if image.ndim == 3:  # weights broadcast over channels
        wx, wy = wx[..., None], wy[..., None]
    top = image[y0, x0] * (1 - wx) + image[y0, x1] * wx
    bottom = image[y1, x0] * (1 - wx) + image[y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def affine_warp(image, matrix=None, *, angle_deg=0, scale=1, shear_deg=0, translate=(0, 0), fill=0.0):
    """Warp `image` ((H, W) or (H, W, C)) by an affine map; the result has the same shape.

    Pass either `matrix` (2x3, the inverse map described in `affine_matrix`) or the keywords, which
    build it. Every output pixel looks up where it comes from in the input and interpolates
    bilinearly between the four nearest pixels; pixels that come from outside the image get `fill`.
    """
    img = _as_image(image)
    keywords_used = (angle_deg, scale, shear_deg) != (0, 1, 0) or tuple(translate) != (0, 0)
    if matrix is None:
        matrix = affine_matrix(angle_deg, scale, shear_deg, translate)
    elif keywords_used:
        raise ValueError("Pass either matrix= or the angle_deg/scale/shear_deg/translate keywords, not both.")
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape == (3, 3):
        m = m[:2]
    if m.shape != (2, 3):
        raise ValueError(f"matrix must have shape (2, 3) (see affine_matrix), got {m.shape}.")
    h, w = img.shape[:2]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    ys, xs = _grid(h, w)
    ys, xs = ys - cy, xs - cx
    x_in = m[0, 0] * xs + m[0, 1] * ys + m[0, 2] + cx
    y_in = m[1, 0] * xs + m[1, 1] * ys + m[1, 2] + cy
    # a pixel covers +-0.5 around its centre: sample positions within that footprint are inside
    inside = (x_in >= -0.5) & (x_in <= w - 0.5) & (y_in >= -0.5) & (y_in <= h - 0.5)
    out = _bilinear(img, x_in, y_in)
    if img.ndim == 3:
        inside = inside[..., None]
    return np.where(inside, out, fill).astype(img.dtype, copy=False)


# --------------------------------------------------------------------------------------------------
# soft masks: signed distance (negative inside) -> smooth 0..1 coverage
# --------------------------------------------------------------------------------------------------
def _coverage(signed_distance, softness):
    """Smoothstep across the border: 1 at -softness/2 inside, 0 at +softness/2 outside.

    Anti-aliasing by distance: a pixel half covered by a shape gets 0.5 instead of a hard 0 or 1,
    so edges do not show staircase artefacts even at 32x32.
    """
    if softness <= 0:
        return (signed_distance <= 0).astype(np.float32)
    t = np.clip(0.5 - signed_distance / softness, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _circle_sd(ys, xs, cx, cy, r):
    return np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2) - r


def _rect_sd(ys, xs, x0, y0, x1, y1):
    """Exact signed distance to an axis-aligned box (the usual 'length(max(q, 0)) + min(max(q), 0)')."""
    qx = np.abs(xs - (x0 + x1) / 2) - abs(x1 - x0) / 2
    qy = np.abs(ys - (y0 + y1) / 2) - abs(y1 - y0) / 2
    outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0)


def _ellipse_sd(ys, xs, cx, cy, rx, ry, angle_deg=0.0):
    """Approximate signed distance to an ellipse: (k - 1) / |grad k| with k the 'ellipse radius'.

    Exact near the border (which is all anti-aliasing needs) and negative everywhere inside.
    """
    dx, dy = xs - cx, ys - cy
    if angle_deg:
        t = math.radians(angle_deg)
        c, s = math.cos(t), math.sin(t)
        dx, dy = dx * c - dy * s, dx * s + dy * c
    ex, ey = dx / rx, dy / ry
    k = np.sqrt(ex * ex + ey * ey)
    grad = np.sqrt((ex / rx) ** 2 + (ey / ry) ** 2)
    # k / grad is a length between min and max radius; at the exact centre (0 / 0) use the smaller one
    ratio = np.divide(k, grad, out=np.full(np.broadcast(k, grad).shape, min(rx, ry), np.float32),
                      where=grad > 0)
    return (k - 1) * ratio


def _halfplane_sd(ys, xs, point, angle_deg):
    """Signed distance to the half-plane below a line through `point`, tilted by `angle_deg`."""
    t = math.radians(angle_deg)
    return -((ys - point[1]) * math.cos(t) + (xs - point[0]) * math.sin(t))


def circle_mask(shape_hw, center, radius, softness=1.0):
    """Float mask of shape `shape_hw` that is 1 inside the circle (center=(x, y), radius in pixels)."""
    h, w = _shape_hw(shape_hw)
    cx, cy = _point(center, "center")
    if not radius > 0:
        raise ValueError(f"radius must be > 0 pixels, got {radius!r}.")
    _check_softness(softness)
    ys, xs = _grid(h, w)
    return _coverage(_circle_sd(ys, xs, cx, cy, float(radius)), softness)


def rect_mask(shape_hw, top_left, bottom_right, softness=1.0):
    """Float mask that is 1 inside the rectangle between corners top_left=(x0, y0), bottom_right=(x1, y1).

    Corners are continuous coordinates: to cover pixels 2..5 fully use x0 = 1.5 and x1 = 5.5.
    """
    h, w = _shape_hw(shape_hw)
    x0, y0 = _point(top_left, "top_left")
    x1, y1 = _point(bottom_right, "bottom_right")
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"bottom_right {bottom_right!r} must lie right of and below top_left {top_left!r}.")
    _check_softness(softness)
    ys, xs = _grid(h, w)
    return _coverage(_rect_sd(ys, xs, x0, y0, x1, y1), softness)


def ellipse_mask(shape_hw, center, radii, angle_deg=0.0, softness=1.0):
    """Float mask that is 1 inside the ellipse (center=(x, y), radii=(rx, ry)) turned by `angle_deg`."""
    h, w = _shape_hw(shape_hw)
    cx, cy = _point(center, "center")
    rx, ry = _point(radii, "radii")
    if rx <= 0 or ry <= 0:
        raise ValueError(f"radii must both be > 0 pixels, got {radii!r}.")
    _check_softness(softness)
    ys, xs = _grid(h, w)
    return _coverage(_ellipse_sd(ys, xs, cx, cy, rx, ry, angle_deg), softness)


def composite(foreground, background, mask):
    """Alpha-composite: ``mask * foreground + (1 - mask) * background``.

    `foreground` and `background` must have the same shape (H, W) or (H, W, C); `mask` is (H, W),
    (H, W, 1) or the images' shape, with values in [0, 1]. A 2-D mask applies to every channel.
    """
    fg = _as_image(foreground, "foreground")
    bg = _as_image(background, "background")
    if fg.shape != bg.shape:
        raise ValueError(f"foreground {fg.shape} and background {bg.shape} must have the same shape.")
    m = np.asarray(mask, dtype=np.result_type(fg.dtype, bg.dtype, np.float32))
    if m.ndim == 2 and fg.ndim == 3:
        m = m[..., None]
    if m.shape[:2] != fg.shape[:2] or m.ndim != fg.ndim or m.shape[-1] not in (1, fg.shape[-1]):
        raise ValueError(f"mask shape {np.shape(mask)} does not fit images of shape {fg.shape}; "
                         "pass an (H, W) mask with the images' height and width.")
    if m.size and (m.min() < 0 or m.max() > 1):
        raise ValueError("mask values must lie in [0, 1] (0 = background, 1 = foreground).")
    return m * fg + (1 - m) * bg


# --------------------------------------------------------------------------------------------------
# textures: mapping onto shapes, synthesis from a sample, procedural patterns
# --------------------------------------------------------------------------------------------------
def texture_map(texture, u, v):
    """Sample `texture` ((H, W) or (H, W, C)) at texture coordinates (u, v), bilinearly.

    u runs along the texture's width and v along its height, both in [0, 1); values outside wrap
    around (the texture tiles), so a sphere's longitude can run past 1 without a seam. The result
    has the shape of u and v (plus C).
    """
    tex = _as_image(texture, "texture")
    u, v = np.broadcast_arrays(np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64))
    h, w = tex.shape[:2]
    # texel centres sit at (i + 0.5) / size, hence the -0.5
    x = np.mod(u, 1.0) * w - 0.5
    y = np.mod(v, 1.0) * h - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    wx, wy = x - x0, y - y0
    x0 = x0.astype(np.intp) % w
    y0 = y0.astype(np.intp) % h
    x1, y1 = (x0 + 1) % w, (y0 + 1) % h
    if tex.ndim == 3:
        wx, wy = wx[..., None], wy[..., None]
    top = tex[y0, x0] * (1 - wx) + tex[y0, x1] * wx
    bottom = tex[y1, x0] * (1 - wx) + tex[y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def _unit_disc(size):
    """Pixel grid of a size x size image scaled so the ball's rim is at distance 1 from its centre."""
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 2:
        raise ValueError(f"size must be an int >= 2 (pixels), got {size!r}.")
    radius = size / 2 - 1  # leave a pixel for the anti-aliased rim
    ys, xs = _grid(size, size)
    c = (size - 1) / 2
    return size, radius, (xs - c) / radius, (ys - c) / radius


def sphere_uv(size, softness=1.0):
    """Texture coordinates of a ball seen from the front, drawn as a disc in a size x size image.

    Returns ``(u, v, mask)``: u is the longitude (0.25..0.75 on the visible half), v the latitude
    (0 at the top pole, 1 at the bottom) and mask the anti-aliased disc. ``texture_map(tex, u, v)``
    then wraps a texture onto the ball; multiply by `sphere_shading` for a 3-D look.
    """
    _check_softness(softness)
    size, radius, nx, ny = _unit_disc(size)
    nz = np.sqrt(np.clip(1 - nx * nx - ny * ny, 0, 1))
    u = 0.5 + np.arctan2(nx, nz) / (2 * np.pi)
    v = np.arccos(np.clip(-ny, -1, 1)) / np.pi
    r = np.sqrt(nx * nx + ny * ny)
    mask = _coverage((r - 1) * radius, softness)
    full = (size, size)
    return (np.broadcast_to(u, full).astype(np.float64), np.broadcast_to(v, full).astype(np.float64),
            np.broadcast_to(mask, full).astype(np.float64))


def sphere_shading(size, light=(-0.5, -0.6, 0.65), ambient=0.25):
    """Lambert shading (ambient + diffuse) of the ball from `sphere_uv`, shape (size, size), in [0, 1].

    `light` is the direction towards the light as (x right, y down, z towards the viewer).
    """
    size, _, nx, ny = _unit_disc(size)
    nz = np.sqrt(np.clip(1 - nx * nx - ny * ny, 0, 1))
    lx, ly, lz = np.asarray(light, dtype=np.float64) / np.linalg.norm(light)
    diffuse = np.clip(nx * lx + ny * ly + nz * lz, 0, 1)
    return np.clip(ambient + (1 - ambient) * diffuse, 0, 1)


def _candidate_patches(sample, patch):
    """All patch x patch windows of the sample as one (N, patch, patch, C) array."""
    windows = np.lib.stride_tricks.sliding_window_view(sample, (patch, patch), axis=(0, 1))
    windows = np.moveaxis(windows, 2, -1)  # (rows, cols, C, p, p) -> (rows, cols, p, p, C)
    return windows.reshape(-1, patch, patch, sample.shape[2])


def _feather(patch, overlap, has_left, has_top):
    """Blending weights of a new patch: a linear ramp 0 -> 1 across the overlaps, 1 elsewhere."""
    ramp = (np.arange(overlap) + 1) / (overlap + 1)
    ax, ay = np.ones(patch), np.ones(patch)
    if has_left:
        ax[:overlap] = ramp
    if has_top:
        ay[:overlap] = ramp
    return (ay[:, None] * ax[None, :])[..., None]


def _overlap_ssd(candidates, target, overlap, has_left, has_top):
    """Sum of squared differences between every candidate and the target, on the overlap strips only.

    One vectorised expression over all N candidates; the top strip skips the corner the left strip
    already counted.
    """
    ssd = np.zeros(len(candidates))
    if has_left:
        ssd += ((candidates[:, :, :overlap] - target[:, :overlap]) ** 2).sum(axis=(1, 2, 3))
    if has_top:
        c0 = overlap if has_left else 0
        ssd += ((candidates[:, :overlap, c0:] - target[:overlap, c0:]) ** 2).sum(axis=(1, 2, 3))
    return ssd


def _check_quilting_args(src, patch, overlap, tolerance):
    if not (isinstance(patch, int | np.integer) and isinstance(overlap, int | np.integer)):
        raise TypeError(f"patch and overlap must be ints, got {patch!r} and {overlap!r}.")
    if patch < 2 or not 0 <= overlap < patch:
        raise ValueError(f"need patch >= 2 and 0 <= overlap < patch, got patch={patch}, overlap={overlap}.")
    if src.shape[0] < patch or src.shape[1] < patch:
        raise ValueError(f"sample {src.shape[:2]} is smaller than one patch ({patch}x{patch}); "
                         "pass a larger sample or a smaller patch.")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}.")


def synthesize_texture(sample, out_shape_hw, patch=8, overlap=3, seed=0, tolerance=0.1):
    """Grow a texture of shape `out_shape_hw` from a small `sample` ((H, W) or (H, W, C)) by image quilting.

    Efros & Freeman (2001): walk over the output in raster order, in steps of ``patch - overlap``.
    At each step compare every patch x patch window of the sample with what is already drawn in the
    overlap (left and top strips, sum of squared differences) and pick one at random among the good
    matches: those within `tolerance` (10%) of the best error. Matching keeps seams hard to see; the
    random choice keeps the result from being a plain copy of the sample. The new patch is blended
    in with a linear feather across the overlap (the paper's minimum-error cut is left out).
    Outside the overlaps every placed patch is an exact copy of a window of the sample.
    """
    src = _as_image(sample, "sample")
    h, w = _shape_hw(out_shape_hw, "out_shape_hw")
    _check_quilting_args(src, patch, overlap, tolerance)
    src3 = src[..., None] if src.ndim == 2 else src
    candidates = _candidate_patches(src3.astype(np.float64), patch)
    rng = np.random.default_rng(seed)
    step = patch - overlap
    rows, cols = max(1, -(-(h - overlap) // step)), max(1, -(-(w - overlap) // step))
    canvas = np.zeros((rows * step + overlap, cols * step + overlap, src3.shape[2]))
    for i in range(rows):
        for j in range(cols):
            # a view into the canvas: writing to it places the patch
            target = canvas[i * step:i * step + patch, j * step:j * step + patch]
            if (i == 0 and j == 0) or overlap == 0:
                choice = rng.integers(len(candidates))
            else:
                ssd = _overlap_ssd(candidates, target, overlap, j > 0, i > 0)
                choice = rng.choice(np.flatnonzero(ssd <= ssd.min() * (1 + tolerance) + 1e-12))
            alpha = _feather(patch, overlap, j > 0, i > 0)
            target[...] = (1 - alpha) * target + alpha * candidates[choice]
    out = canvas[:h, :w].astype(src.dtype, copy=False)
    return out[..., 0] if src.ndim == 2 else out


def checkerboard(size, squares):
    """Checkerboard of 0s and 1s, `squares` squares along each side, shape `size` (int or (H, W))."""
    h, w = _shape_hw(size, "size")
    if not isinstance(squares, int | np.integer) or squares < 1:
        raise ValueError(f"squares must be an int >= 1, got {squares!r}.")
    ys, xs = np.arange(h)[:, None], np.arange(w)[None, :]
    return (((ys * squares) // h + (xs * squares) // w) % 2).astype(np.float64)


def stripes(size, period, angle_deg=0.0):
    """Smooth (sinusoidal) stripes in [0, 1], one light and one dark band every `period` pixels.

    angle_deg = 0 gives vertical stripes; positive angles turn them counter-clockwise.
    """
    h, w = _shape_hw(size, "size")
    if not period > 0:
        raise ValueError(f"period must be > 0 pixels, got {period!r}.")
    t = math.radians(angle_deg)
    ys, xs = _grid(h, w)
    phase = (xs * math.cos(t) - ys * math.sin(t)) * (2 * np.pi / period)
    return (0.5 + 0.5 * np.cos(phase)).astype(np.float64)


# --------------------------------------------------------------------------------------------------
# procedural cartoon faces: a few random numbers -> a picture (the offline dataset of chapter 06)
# --------------------------------------------------------------------------------------------------
HAIR_STYLES = ("short", "long", "bald", "bun", "afro")
MOUTHS = ("smile", "neutral", "open")
_SKIN = np.array([[255, 224, 196], [250, 208, 170], [234, 186, 140], [214, 160, 110],
                  [178, 122, 78], [140, 90, 55], [100, 64, 40]], dtype=np.float32) / 255
_HAIR = np.array([[25, 20, 18], [60, 40, 28], [105, 68, 40], [160, 75, 35],
                  [225, 190, 115], [175, 170, 165], [200, 110, 45]], dtype=np.float32) / 255
_IRIS = np.array([[90, 55, 30], [50, 110, 180], [60, 130, 70], [35, 30, 28], [140, 110, 60]],
                 dtype=np.float32) / 255
_FRAMES = np.array([[20, 20, 20], [110, 60, 30], [170, 30, 40], [30, 60, 150]], dtype=np.float32) / 255


def _hsv(h, s, v):
    """HSV -> RGB for one colour, all in [0, 1] (hue wraps)."""
    k = (np.array([5.0, 3.0, 1.0]) + h * 6) % 6
    return (v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)).astype(np.float32)


def _face_attributes(rng):
    """Draw one face's attributes. Always the same number of draws, so face i depends only on the seed."""
    u = rng.random(24)  # uniform numbers, used below in a fixed order
    pick = rng.integers(0, 1 << 16, size=6)
    jitter = rng.normal(0, 0.025, size=(3, 3)).astype(np.float32)
    return {
        "face_width": 0.24 + 0.08 * u[0],  # half-width of the face ellipse, as a fraction of the image
        "face_height": 0.30 + 0.07 * u[1],
        "center_x": 0.5 + 0.04 * (u[2] - 0.5),
        "skin_color": tuple(np.clip(_SKIN[pick[0] % len(_SKIN)] + jitter[0], 0, 1).tolist()),
        "hair_style": HAIR_STYLES[pick[1] % len(HAIR_STYLES)],
        "hair_color": tuple(np.clip(_HAIR[pick[2] % len(_HAIR)] + jitter[1], 0, 1).tolist()),
        "hairline": 0.25 + 0.25 * u[3],  # how far above the face centre the hair starts (x face height)
        "hair_part_deg": 30 * (u[4] - 0.5),
        "hair_length": 0.3 + 0.9 * u[5],
        "eye_spacing": 0.34 + 0.16 * u[6],  # distance of each eye from the middle (x face width)
        "eye_height": 0.02 + 0.14 * u[7],
        "eye_size": 0.045 + 0.03 * u[8],
        "eye_aspect": 0.8 + 0.35 * u[9],
        "gaze": 0.4 * (u[10] - 0.5),
        "iris_color": tuple(np.clip(_IRIS[pick[3] % len(_IRIS)] + jitter[2], 0, 1).tolist()),
        "brow_tilt_deg": 36 * (u[11] - 0.5),
        "brow_thickness": 0.016 + 0.016 * u[12],
        "mouth": MOUTHS[pick[4] % len(MOUTHS)],
        "mouth_width": 0.28 + 0.27 * u[13],  # half-width of the mouth (x face width)
        "mouth_height": 0.5 + 0.14 * u[14],
        "glasses": bool(u[15] < 0.3),
        "glasses_frame": tuple(_FRAMES[pick[5] % len(_FRAMES)].tolist()),
        "square_glasses": bool(u[16] < 0.5),
        "blush": bool(u[17] < 0.35),
        "background_color": tuple(_hsv(u[18], 0.2 + 0.35 * u[19], 0.72 + 0.23 * u[20]).tolist()),
        "shirt_color": tuple(_hsv(u[21], 0.35 + 0.5 * u[22], 0.3 + 0.6 * u[23]).tolist()),
    }


class _Painter:
    """Paints soft shapes, given as signed distance fields, onto one RGB canvas."""

    def __init__(self, size):
        self.size = size
        self.ys, self.xs = _grid(size, size)
        self.soft = 1.0  # one pixel of anti-aliasing at every size
        self.canvas = np.zeros((size, size, 3), dtype=np.float32)

    def paint(self, sd, color, alpha=1.0):
        """Cover the canvas with `color` where the signed distance `sd` is negative (blended at the edge)."""
        m = np.broadcast_to(_coverage(sd, self.soft), self.canvas.shape[:2])
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        if rows.size == 0:
            return
        # blend only inside the shape's bounding box: eyes and mouths are small, this halves the time
        box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        m = m[box][..., None] * np.float32(alpha)
        self.canvas[box] += m * (np.asarray(color, dtype=np.float32) - self.canvas[box])

    def ellipse(self, cx, cy, rx, ry, angle_deg=0.0):
        return _ellipse_sd(self.ys, self.xs, cx, cy, rx, ry, angle_deg)

    def circle(self, cx, cy, r):
        return _circle_sd(self.ys, self.xs, cx, cy, r)

    def rect(self, x0, y0, x1, y1):
        return _rect_sd(self.ys, self.xs, x0, y0, x1, y1)

    def below(self, x, y, angle_deg=0.0):
        return _halfplane_sd(self.ys, self.xs, (x, y), angle_deg)


def _draw_body_and_back_hair(p, a, g):
    s, cx, cy, fw, fh = g
    skin = np.asarray(a["skin_color"], dtype=np.float32)
    p.paint(p.ellipse(cx, s * 1.04, 0.42 * s, 0.2 * s), a["shirt_color"])
    p.paint(p.rect(cx - 0.38 * fw, cy + 0.4 * fh, cx + 0.38 * fw, cy + fh + 0.12 * s), skin * 0.82)
    style = a["hair_style"]
    if style == "long":  # hair behind the head, down to the shoulders
        bottom = cy + fh * (0.2 + a["hair_length"])
        sd = np.minimum(p.ellipse(cx, cy - 0.1 * fh, 1.2 * fw, 1.08 * fh),
                        p.rect(cx - 1.12 * fw, cy - 0.2 * fh, cx + 1.12 * fw, bottom) - 0.02 * s)
        p.paint(sd, np.asarray(a["hair_color"]) * 0.85)
    elif style == "afro":
        p.paint(p.ellipse(cx, cy - 0.25 * fh, 1.38 * fw, 1.0 * fh), a["hair_color"])
    # ears: both in one distance field (union = minimum), then the face on top
    ears = np.minimum(p.ellipse(cx - 0.97 * fw, cy, 0.06 * s, 0.085 * s),
                      p.ellipse(cx + 0.97 * fw, cy, 0.06 * s, 0.085 * s))
    p.paint(ears, skin * 0.9)
    face = p.ellipse(cx, cy, fw, fh)
    p.paint(face, skin)
    # a thin darker outline, so the face never melts into hair of a similar colour
    p.paint(np.abs(face + 0.5) - 0.5, skin * 0.7, 0.7)


def _draw_front_hair(p, a, g):
    s, cx, cy, fw, fh = g
    style = a["hair_style"]
    if style == "bald":
        return
    if style == "bun":
        p.paint(p.circle(cx, cy - 1.08 * fh, 0.3 * fw), a["hair_color"])
    # a cap: the part of a slightly larger head ellipse above a (tilted) hairline
    hairline = cy - a["hairline"] * fh - (0.08 * fh if style == "afro" else 0.0)
    cap = np.maximum(p.ellipse(cx, cy - 0.04 * fh, 1.07 * fw, 1.05 * fh),
                     -p.below(cx, hairline, a["hair_part_deg"]))
    p.paint(cap, a["hair_color"])


def _draw_eyes(p, a, g):
    s, cx, cy, fw, fh = g
    r = a["eye_size"] * s
    ey = cy - a["eye_height"] * fh
    xs = (cx - a["eye_spacing"] * fw, cx + a["eye_spacing"] * fw)
    gaze = a["gaze"] * r

    def both(sd_of_x):  # one field for both eyes: union = minimum
        return np.minimum(sd_of_x(xs[0]), sd_of_x(xs[1]))

    p.paint(both(lambda x: p.ellipse(x, ey, r, r * a["eye_aspect"])), (1.0, 1.0, 1.0))
    p.paint(both(lambda x: p.circle(x + gaze, ey, 0.62 * r)), a["iris_color"])
    p.paint(both(lambda x: p.circle(x + gaze, ey, 0.3 * r)), (0.02, 0.02, 0.02))
    p.paint(both(lambda x: p.circle(x + gaze - 0.25 * r, ey - 0.25 * r, 0.16 * r)), (1.0, 1.0, 1.0), 0.8)
    # eyebrows: thin ellipses, mirrored tilt (positive tilt raises the inner ends)
    brow_y = ey - r * a["eye_aspect"] - 0.05 * s
    thick = max(a["brow_thickness"] * s, 0.6)
    tilt = a["brow_tilt_deg"]
    brows = np.minimum(p.ellipse(xs[0], brow_y, 1.25 * r, thick, tilt),
                       p.ellipse(xs[1], brow_y, 1.25 * r, thick, -tilt))
    brow_color = (0.25, 0.17, 0.12) if a["hair_style"] == "bald" else np.asarray(a["hair_color"]) * 0.75
    p.paint(brows, brow_color)
    if a["glasses"]:
        _draw_glasses(p, a, xs, ey, r)


def _draw_glasses(p, a, xs, ey, r):
    rr = 1.75 * r
    thick = max(0.028 * p.size, 0.9)
    if a["square_glasses"]:
        lens = [p.rect(x - rr, ey - 0.8 * rr, x + rr, ey + 0.8 * rr) for x in xs]
    else:
        lens = [p.circle(x, ey, rr) for x in xs]
    lenses = np.minimum(*lens)
    p.paint(lenses, (0.75, 0.85, 0.95), 0.18)  # tinted glass
    bridge = p.rect(xs[0] + rr, ey - 0.25 * rr - thick / 2, xs[1] - rr, ey - 0.25 * rr + thick / 2)
    p.paint(np.minimum(np.abs(lenses) - thick / 2, bridge), a["glasses_frame"])


def _draw_mouth(p, a, g):
    s, cx, cy, fw, fh = g
    my = cy + a["mouth_height"] * fh
    mw = a["mouth_width"] * fw
    t = max(0.035 * s, 1.1)  # line thickness
    lips = (0.55, 0.12, 0.12)
    if a["mouth"] == "smile":
        mh = 0.55 * mw
        # crescent: an ellipse minus the same ellipse moved up by the line thickness
        sd = np.maximum(p.ellipse(cx, my - mh + t, mw, mh), -p.ellipse(cx, my - mh, 1.08 * mw, mh))
        p.paint(sd, lips)
    elif a["mouth"] == "neutral":
        p.paint(p.rect(cx - 0.75 * mw, my - t / 2, cx + 0.75 * mw, my + t / 2), lips)
    else:  # open, laughing: a "D" shape with teeth and tongue
        mh = 0.75 * mw
        top = my - 0.35 * mh
        mouth = np.maximum(p.ellipse(cx, top, mw, mh), p.below(cx, top))  # lower half
        p.paint(mouth, (0.3, 0.04, 0.06))
        p.paint(np.maximum(mouth, p.circle(cx, top + 1.05 * mh, 0.6 * mw)), (0.92, 0.45, 0.5))
        p.paint(np.maximum(mouth, -p.below(cx, top + 0.25 * mh)), (0.97, 0.97, 0.95))


def _render_face(a, size):
    """Draw one face from its attribute dict, back to front, on a size x size canvas."""
    p = _Painter(size)
    s = float(size)
    g = (s, a["center_x"] * s, 0.5 * s, a["face_width"] * s, a["face_height"] * s)
    top = np.asarray(a["background_color"], dtype=np.float32)
    p.canvas[:] = top * (1 - 0.18 * p.ys[..., None] / s)  # gentle vertical gradient
    _draw_body_and_back_hair(p, a, g)
    _draw_front_hair(p, a, g)
    skin = np.asarray(a["skin_color"], dtype=np.float32)
    _, cx, cy, fw, fh = g
    p.paint(p.ellipse(cx, cy + 0.22 * fh, 0.05 * s, 0.04 * s), skin * 0.8, 0.8)  # nose
    if a["blush"]:
        cheeks = np.minimum(p.circle(cx - 0.6 * fw, cy + 0.3 * fh, 0.07 * s),
                            p.circle(cx + 0.6 * fw, cy + 0.3 * fh, 0.07 * s))
        p.paint(cheeks, (0.95, 0.45, 0.5), 0.3)
    _draw_eyes(p, a, g)
    _draw_mouth(p, a, g)
    return np.clip(p.canvas, 0, 1)


def cartoon_faces(n, size=64, seed=0, return_attributes=False):
    """Draw `n` random cartoon faces: float32 array (n, size, size, 3) with values in [0, 1].

    Each face has random face shape, skin colour, hair style and colour, eye size, spacing and iris
    colour, eyebrow tilt, mouth (smile, neutral or open) and width, optional glasses and blush, and
    background and shirt colours. The same seed always gives the same faces (and the first k faces
    of a bigger batch equal a batch of k), so the dataset needs no download and is reproducible.
    With `return_attributes=True` also return a list of the attribute dicts, e.g. for conditional
    models or to check that a generator covers all hair styles.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n must be an int (number of faces), got {type(n).__name__}.")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}.")
    if isinstance(size, bool) or not isinstance(size, int | np.integer):
        raise TypeError(f"size must be an int (pixels), got {type(size).__name__}.")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels to draw a face, got {size}.")
    rng = np.random.default_rng(seed)
    attributes = [_face_attributes(rng) for _ in range(int(n))]
    faces = np.empty((int(n), int(size), int(size), 3), dtype=np.float32)
    for i, a in enumerate(attributes):
        faces[i] = _render_face(a, int(size))
    return (faces, attributes) if return_attributes else faces
