"""Latent-space tools for chapter 05 (sections 3-8): plain functions first, the ipywidgets explorer on top.

Everything except `latent_explorer` is NumPy in, NumPy out, so tests call it without a browser or a
notebook. The decoder is any Keras model mapping z (N, d) to Bernoulli logits (N, 28, 28, 1), the
encoder any model mapping images to `[z_mean, z_log_var]` (see utils/vae.py).

The explorer uses only widgets that exist with the same meaning in ipywidgets 7.7 (Colab) and 8
(FloatSlider, Image, Button, Label, HBox, VBox, Layout), and `observe(..., names="value")`.
"""

from __future__ import annotations

import io
from statistics import NormalDist

import numpy as np

# ---------------------------------------------------------------- encode and decode


def sigmoid(logits):
    """Numerically stable logistic function, NumPy."""
    logits = np.asarray(logits, dtype="float64")
    out = np.empty_like(logits)
    pos = logits >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-logits[pos]))
    e = np.exp(logits[~pos])
    out[~pos] = e / (1.0 + e)
    return out.astype("float32")


def encode_mean(encoder, images, batch_size: int = 500) -> np.ndarray:
    """The posterior means z_mean (N, d) of images (N, 28, 28[, 1]): a deterministic embedding."""
    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    z_mean, _ = encoder.predict(images, batch_size=batch_size, verbose=0)
    return np.asarray(z_mean)


def decode_latent(decoder, z) -> np.ndarray:
    """Decode latent point(s) to pixel probabilities in [0, 1].

    z of shape (d,) -> one image (28, 28); z of shape (N, d) -> images (N, 28, 28).
    """
    z = np.asarray(z, dtype="float32")
    single = z.ndim == 1
    if single:
        z = z[None]
    if z.ndim != 2:
        raise ValueError(f"z must have shape (d,) or (N, d), got {z.shape}")
    expected = decoder.input_shape[-1]
    if expected is not None and z.shape[1] != expected:
        raise ValueError(f"the decoder expects {expected} latent coordinates, got {z.shape[1]}")
    logits = decoder(z, training=False) if len(z) <= 256 else decoder.predict(z, verbose=0)
    images = sigmoid(np.asarray(logits))[..., 0]
    return images[0] if single else images


def reconstruct(encoder, decoder, images) -> np.ndarray:
    """Encode to the posterior mean, decode: pixel probabilities (N, 28, 28) in [0, 1]."""
    return decode_latent(decoder, encode_mean(encoder, images))


# ---------------------------------------------------------------- interpolation


def lerp(z0, z1, t):
    """Linear interpolation (1 - t) z0 + t z1; t may be a scalar or an array of shape (T,)."""
    z0, z1 = np.asarray(z0, dtype="float64"), np.asarray(z1, dtype="float64")
    t = np.asarray(t, dtype="float64")
    if t.ndim == 0:
        return ((1 - t) * z0 + t * z1).astype("float32")
    return ((1 - t)[:, None] * z0 + t[:, None] * z1).astype("float32")


def slerp(z0, z1, t):
    """Spherical interpolation: moves along the great circle between z0 and z1, scaling the norm linearly.

    Under a Gaussian prior in many dimensions typical points lie near a sphere of radius sqrt(d); the
    midpoint of a straight line between two of them is shorter (about sqrt(d/2)) and so atypical.
    Falls back to linear interpolation when the two directions (almost) coincide.
    """
    z0, z1 = np.asarray(z0, dtype="float64"), np.asarray(z1, dtype="float64")
    t_arr = np.atleast_1d(np.asarray(t, dtype="float64"))
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 < 1e-12 or n1 < 1e-12:
        out = lerp(z0, z1, t_arr)
    else:
        cos = np.clip(np.dot(z0 / n0, z1 / n1), -1.0, 1.0)
        omega = np.arccos(cos)
        if omega < 1e-6:
            out = lerp(z0, z1, t_arr)
        else:
            s = np.sin(omega)
            u0, u1 = z0 / n0, z1 / n1
            direction = (np.sin((1 - t_arr) * omega)[:, None] * u0 + np.sin(t_arr * omega)[:, None] * u1) / s
            norm = (1 - t_arr) * n0 + t_arr * n1
            out = (direction * norm[:, None]).astype("float32")
    return out[0] if np.ndim(t) == 0 else out


def interpolate(z0, z1, steps: int = 8, method: str = "linear") -> np.ndarray:
    """`steps` evenly spaced points from z0 to z1, both ends included -> (steps, d)."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (the two end points), got {steps}")
    t = np.linspace(0.0, 1.0, steps)
    if method == "linear":
        return lerp(z0, z1, t)
    if method == "spherical":
        return slerp(z0, z1, t)
    raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}")


# ---------------------------------------------------------------- the manifold grid


def grid_coordinates(n: int = 15, quantile: float = 0.95) -> np.ndarray:
    """Grid values for one latent axis: Gaussian quantiles from 1-quantile to quantile, (n,).

    Spacing the grid by the prior's quantiles (not evenly) gives equal prior mass between neighbours.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    if not 0.5 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0.5, 1), got {quantile}")
    dist = NormalDist()
    return np.array([dist.inv_cdf(p) for p in np.linspace(1 - quantile, quantile, n)], dtype="float32")


def manifold_grid(decoder, n: int = 15, quantile: float = 0.95, dims=(0, 1), base=None):
    """Decode an n x n grid over two latent dimensions -> (image (n*28, n*28), coordinates (n, n, 2)).

    Row 0 is the top of the picture and holds the *largest* value of dims[1], so the picture reads like
    a scatter plot (y up). Other dimensions are held at `base` (default: zeros, the prior's mean).
    """
    latent_dim = decoder.input_shape[-1]
    values = grid_coordinates(n, quantile)
    base = np.zeros(latent_dim, dtype="float32") if base is None else np.asarray(base, dtype="float32")
    z = np.repeat(base[None], n * n, axis=0)
    coords = np.zeros((n, n, 2), dtype="float32")
    for row, yv in enumerate(values[::-1]):
        for col, xv in enumerate(values):
            coords[row, col] = (xv, yv)
            z[row * n + col, dims[0]] = xv
            z[row * n + col, dims[1]] = yv
    images = decode_latent(decoder, z)
    h, w = images.shape[1:]
    picture = images.reshape(n, n, h, w).transpose(0, 2, 1, 3).reshape(n * h, n * w)
    return picture, coords


# ---------------------------------------------------------------- corruption for denoising and inpainting


def salt_and_pepper(images, amount: float = 0.2, seed: int = 0) -> np.ndarray:
    """Set a fraction `amount` of pixels to 0 or 1 at random (a copy; the input is unchanged)."""
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must be in [0, 1], got {amount}")
    images = np.array(images, dtype="float32", copy=True)
    rng = np.random.default_rng(seed)
    hit = rng.random(images.shape) < amount
    images[hit] = (rng.random(int(hit.sum())) < 0.5).astype("float32")
    return images


def gaussian_noise(images, std: float = 0.3, seed: int = 0) -> np.ndarray:
    """Add N(0, std^2) noise and clip back into [0, 1]."""
    rng = np.random.default_rng(seed)
    images = np.asarray(images, dtype="float32")
    return np.clip(images + std * rng.standard_normal(images.shape), 0.0, 1.0).astype("float32")


def block_mask(shape=(28, 28), top: int = 0, left: int = 0, height: int = 14, width: int = 28) -> np.ndarray:
    """A float mask of `shape`: 1 where the pixel is known, 0 inside the missing rectangle."""
    mask = np.ones(shape, dtype="float32")
    mask[top:top + height, left:left + width] = 0.0
    return mask


def half_mask(side: str = "bottom", shape=(28, 28)) -> np.ndarray:
    """Mask with one half missing: side is 'top', 'bottom', 'left' or 'right'."""
    h, w = shape
    boxes = {"top": (0, 0, h // 2, w), "bottom": (h // 2, 0, h - h // 2, w),
             "left": (0, 0, h, w // 2), "right": (0, w // 2, h, w - w // 2)}
    if side not in boxes:
        raise ValueError(f"side must be one of {sorted(boxes)}, got {side!r}")
    return block_mask(shape, *boxes[side])


def apply_mask(images, mask, fill: float = 0.0) -> np.ndarray:
    """Keep known pixels (mask 1), replace missing ones (mask 0) by `fill`."""
    images = np.asarray(images, dtype="float32")
    mask = np.asarray(mask, dtype="float32")
    if images.ndim == 4 and mask.ndim == 2:
        mask = mask[..., None]
    return images * mask + fill * (1.0 - mask)


def inpaint(encoder, decoder, images, mask, iterations: int = 5) -> np.ndarray:
    """Fill missing pixels by repeatedly encoding, decoding and pasting the known pixels back.

    Start with the missing pixels at 0, then `iterations` times: reconstruct the whole image and
    replace only the missing pixels by the reconstruction. Returns images (N, 28, 28) in [0, 1]
    whose known pixels are exactly the input's.
    """
    images = np.asarray(images, dtype="float32")
    if images.ndim == 4:
        images = images[..., 0]
    mask = np.asarray(mask, dtype="float32")
    current = images * mask
    for _ in range(max(int(iterations), 1)):
        recon = reconstruct(encoder, decoder, current[..., None])
        current = images * mask + recon * (1.0 - mask)
    return current


# ---------------------------------------------------------------- the interactive explorer


def to_png(image, scale: int = 6) -> bytes:
    """A (H, W) array in [0, 1] as PNG bytes, enlarged `scale` times with nearest-neighbour pixels."""
    from PIL import Image

    image = np.clip(np.asarray(image, dtype="float32"), 0.0, 1.0)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"expected one grayscale image (H, W), got shape {image.shape}")
    array = (image * 255).round().astype("uint8")
    if scale > 1:
        array = np.kron(array, np.ones((scale, scale), dtype="uint8"))
    buffer = io.BytesIO()
    Image.fromarray(array, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def slider_values_to_z(values, latent_dim: int, base=None) -> np.ndarray:
    """Slider values for the first len(values) coordinates, the rest from `base` (zeros) -> (d,)."""
    z = np.zeros(latent_dim, dtype="float32") if base is None else np.array(base, dtype="float32")
    values = np.asarray(values, dtype="float32")
    if len(values) > latent_dim:
        raise ValueError(f"{len(values)} slider values for a {latent_dim}-dimensional latent space")
    z[: len(values)] = values
    return z


def latent_explorer(decoder, z_start=None, z_end=None, max_sliders: int = 8, span: float = 3.0,
                    scale: int = 6, method: str = "linear"):
    """Sliders for the latent coordinates that show the decoded digit live, plus an interpolation slider.

    - one FloatSlider per latent coordinate (the first `max_sliders` of them; the rest stay at 0);
    - a slider t in [0, 1] that moves z from `z_start` to `z_end` (e.g. two encoded test digits) and sets
      the coordinate sliders accordingly;
    - a 'random z' button that draws z from the prior.

    Returns an ipywidgets VBox; its attributes `.sliders`, `.t_slider`, `.image`, `.random_button`,
    `.current_z()` let tests (and curious learners) drive it without a browser.
    """
    import ipywidgets as widgets

    latent_dim = int(decoder.input_shape[-1])
    z_start = np.full(latent_dim, -1.0, "float32") if z_start is None else np.asarray(z_start, "float32")
    z_end = np.full(latent_dim, 1.0, "float32") if z_end is None else np.asarray(z_end, "float32")
    state = {"z": z_start.copy(), "busy": False}
    shown = min(latent_dim, max_sliders)
    sliders = [
        widgets.FloatSlider(value=float(np.clip(z_start[i], -span, span)), min=-span, max=span, step=0.05,
                            description=f"z[{i}]", continuous_update=True, readout_format=".2f",
                            layout=widgets.Layout(width="320px"))
        for i in range(shown)
    ]
    t_slider = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.02, description="t (a to b)",
                                   continuous_update=True, readout_format=".2f",
                                   layout=widgets.Layout(width="320px"),
                                   style={"description_width": "initial"})
    image = widgets.Image(value=to_png(decode_latent(decoder, state["z"]), scale), format="png",
                          width=28 * scale, height=28 * scale)
    random_button = widgets.Button(description="random z ~ N(0, I)")
    label = widgets.Label(value="")
    rng = np.random.default_rng(0)

    def redraw():
        image.value = to_png(decode_latent(decoder, state["z"]), scale)
        label.value = "z = [" + ", ".join(f"{v:+.2f}" for v in state["z"][:shown]) + (
            ", ...]" if latent_dim > shown else "]")

    def set_z(z):
        state["z"] = np.asarray(z, dtype="float32").copy()
        state["busy"] = True  # moving the sliders must not re-trigger a redraw for each one
        try:
            for i, slider in enumerate(sliders):
                slider.value = float(np.clip(state["z"][i], -span, span))
        finally:
            state["busy"] = False
        redraw()

    def on_slider(change):
        if state["busy"]:
            return
        state["z"] = slider_values_to_z([s.value for s in sliders], latent_dim, base=state["z"])
        redraw()

    def on_t(change):
        set_z(slerp(z_start, z_end, change["new"]) if method == "spherical" else lerp(z_start, z_end,
                                                                                       change["new"]))

    def on_random(_button):
        set_z(rng.standard_normal(latent_dim).astype("float32"))

    for slider in sliders:
        slider.observe(on_slider, names="value")
    t_slider.observe(on_t, names="value")
    random_button.on_click(on_random)
    redraw()
    box = widgets.VBox([widgets.HBox([widgets.VBox(sliders + [t_slider, random_button]), image]), label])
    box.sliders, box.t_slider, box.image, box.random_button, box.label = sliders, t_slider, image, random_button, label
    box.current_z = lambda: state["z"].copy()
    return box
