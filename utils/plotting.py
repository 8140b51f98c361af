"""Figures: image grids, loss curves and a live training display (Jupyter or headless).

Chapter 00 (section 3) shows the grids; chapter 02 (section 6) reads the curves; chapters 03 and 06
train with the live display.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from .data import to_unit_range


def _is_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _warn_non_finite(images: np.ndarray) -> None:
    """Warn about NaN/inf pixels: matplotlib draws them blank, which looks like an empty plot."""
    if not np.issubdtype(images.dtype, np.floating):
        return
    bad = ~np.isfinite(images)
    if bad.any():
        per_image = bad.reshape(len(images), -1).any(axis=1)
        warnings.warn(f"{int(per_image.sum())} of {len(images)} images contain NaN or inf ({int(bad.sum())} "
                      "pixels), drawn as black: the model that made them has probably diverged; check its "
                      "losses for NaN and lower the learning rate or re-run from a checkpoint.",
                      RuntimeWarning, stacklevel=3)


def image_grid(images, ncols: int | None = None, pad: int = 1, value_range="auto") -> np.ndarray:
    """Tile (N, H, W[, C]) images into one (rows*H, cols*W, C) float array in [0, 1].

    `value_range`: see `utils.to_unit_range` ('auto', 'unit', 'tanh', 'uint8' or (low, high)); pass
    'tanh' for a tanh generator's samples so an all-positive batch is not read as [0, 1].
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, H, W), (N, H, W, 1) or (N, H, W, 3), got {images.shape}")
    if len(images) == 0:
        raise ValueError("no images to show (got an empty batch)")
    _warn_non_finite(images)
    images = to_unit_range(images, value_range)
    n, h, w, c = images.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.ones((nrows * (h + pad) - pad, ncols * (w + pad) - pad, c), dtype="float32")
    for i, image in enumerate(images):
        row, col = divmod(i, ncols)
        grid[row * (h + pad):row * (h + pad) + h, col * (w + pad):col * (w + pad) + w] = image
    return grid


def show_images(images, title: str, ncols: int | None = None, size: float = 3.5, ax=None,
                value_range="auto"):
    """Plot a titled grid of images; returns the matplotlib Axes. Every course figure has a title.

    uint8 images are read as 0..255; for float model outputs pass value_range='tanh' or 'unit'
    (see `utils.to_unit_range`).
    """
    import matplotlib.pyplot as plt

    grid = image_grid(images, ncols, value_range=value_range)
    if ax is None:
        _, ax = plt.subplots(figsize=(size, size * grid.shape[0] / grid.shape[1]))
    ax.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis("off")
    return ax


def plot_history(history, title: str = "Training curves", keys=None, ax=None):
    """Plot curves from a dict of lists (or a keras History); returns the Axes.

    `keys`: the curves to draw, one name (`keys="loss"`) or a list; default all.
    """
    import matplotlib.pyplot as plt

    history = getattr(history, "history", history)
    if not isinstance(history, dict) or not history:
        raise ValueError("plot_history expects a non-empty dict of lists, e.g. {'d_loss': [...], 'g_loss': [...]}")
    keys = [keys] if isinstance(keys, str) else list(keys or history)
    missing = [k for k in keys if k not in history]
    if missing:
        raise KeyError(f"no curve named {missing}; available: {sorted(history)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    for key in keys:
        ax.plot(np.asarray(history[key], dtype=float), label=key)
    ax.set_title(title)
    ax.set_xlabel("step" if len(history[keys[0]]) > 200 else "epoch")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


class LiveTrainingDisplay:
    """Shows metrics (and optionally an image grid) while training.

    In Jupyter it redraws one figure in place; headless (CI, scripts) it prints one short line at
    most every `min_interval` seconds, so logs stay readable.
    """

    def __init__(self, title: str = "Training", min_interval: float = 2.0,
                 notebook: bool | None = None, value_range="auto"):
        self.title = title
        self.value_range = value_range  # of the images passed to update(), e.g. 'tanh' for a GAN
        self.min_interval = min_interval
        self.notebook = _is_notebook() if notebook is None else notebook
        self.history: dict[str, list[float]] = {}
        self._last = -np.inf
        self._handle = None
        self.updates = 0

    def update(self, step: int, logs: dict, images=None, force: bool = False) -> None:
        """Record `logs` (name -> number) for `step`; redraw when enough time has passed or `force`."""
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        self.updates += 1
        if self.notebook:
            self._draw(step, images)
        else:
            text = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items())
            print(f"[{self.title}] step {step}: {text}", file=sys.stdout, flush=True)

    def _draw(self, step: int, images) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        ncols = 2 if images is not None else 1
        fig, axes = plt.subplots(1, ncols, figsize=(4 * ncols, 3))
        axes = np.atleast_1d(axes)
        plot_history(self.history, title=f"{self.title}: step {step}", ax=axes[0])
        if images is not None:
            show_images(images, title="samples", ax=axes[1], value_range=self.value_range)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)
