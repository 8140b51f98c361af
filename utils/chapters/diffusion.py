"""Diffusion models (chapter 10): the noise schedule, the timestep embedding and the samplers.

Chapter 10 (`solutions/10_diffusion.ipynb`) derives what is here and reuses it, and so do
`tools/sample.py` and `benchmarks/diffusion_steps.py`:

- section 1, the forward process: `Schedule` (betas, alphas, alpha-bars) and `Schedule.q_sample`,
  the closed form q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I);
- section 3, the U-Net's time input: `TimestepEmbedding`, a registered layer (sinusoidal features of
  the integer timestep), so a saved model loads with plain `keras.models.load_model`;
- section 5, sampling: `ddpm_step` / `ddpm_sample` (ancestral sampling, T network calls),
  `ddim_sample` (a few deterministic steps when eta = 0) and, shared by both, `predicted_x0`;
- section 6, classifier-free guidance: `guided_noise` and `predict_noise(..., guidance=s)`.

Conventions. Images are in [-1, 1], shape (N, 28, 28, 1). Timesteps are numbered as in the DDPM
paper, t = 1 .. T: x_0 is the data, x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, and
x_T is almost pure noise. Every function here takes t itself; only the arrays count from 0, so
step t's values sit at index t - 1 (`betas[t - 1]` is beta_t, `alpha_bars[t - 1]` alpha_bar_t),
and the methods `beta(t)`, `alpha(t)`, `alpha_bar(t)` hide that (alpha_bar(0) = 1: the data).
A noise model is a Keras model called as `model([x_t, t, labels])` that returns its prediction of
eps (same shape as x_t); `t` (1 .. T) and `labels` are int32 of shape (N,), and the label
`NULL_LABEL` (10) means "no label" (the unconditional model of classifier-free guidance).
Samplers draw their noise from `np.random.default_rng(seed)`: they never touch the global random
state.
"""

from __future__ import annotations

import math

import keras
import numpy as np

NULL_LABEL = 10  # the "no label" class: digits are 0..9
NUM_LABELS = 11


class Schedule:
    """A variance schedule: betas (the noise added at each step), alphas = 1 - betas, alpha-bars.

    `Schedule(T)` is the DDPM paper's linear schedule, beta from 1e-4 to 0.02 over 1,000 steps,
    rescaled to T steps (beta_start and beta_end times 1000 / T) so that alpha_bar_T is as small.
    The arrays `betas`, `alphas`, `alpha_bars` hold steps 1 .. T at indices 0 .. T-1.
    """

    def __init__(
        self, steps: int = 200, beta_start: float | None = None, beta_end: float | None = None
    ):
        if not isinstance(steps, (int, np.integer)) or steps < 2:
            raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
        scale = 1000.0 / steps
        beta_start = 1e-4 * scale if beta_start is None else beta_start
        beta_end = 0.02 * scale if beta_end is None else beta_end
        if not 0 < beta_start <= beta_end < 1:
            raise ValueError(
                f"need 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end} "
                "(the rescaled default needs steps >= 51; else pass both betas)"
            )
        self.steps = int(steps)
        self.betas = np.linspace(beta_start, beta_end, steps, dtype=np.float64)
        self.alphas = 1.0 - self.betas
        self.alpha_bars = np.cumprod(self.alphas)

    def __repr__(self) -> str:
        return (
            f"Schedule(steps={self.steps}, beta {self.betas[0]:.2e} .. {self.betas[-1]:.2e}, "
            f"alpha_bar_T = {self.alpha_bars[-1]:.2e})"
        )

    def _index(self, t, lowest: int = 1) -> np.ndarray:
        """Array index t - 1 of step(s) t, after checking lowest <= t <= T."""
        t = np.asarray(t)
        if t.size and (t.min() < lowest or t.max() > self.steps):
            raise ValueError(f"timesteps must be in {lowest} .. T = {self.steps}, got {t}")
        return t - 1

    def beta(self, t) -> np.ndarray:
        """beta_t for t = 1 .. T (array index t - 1)."""
        return self.betas[self._index(t)]

    def alpha(self, t) -> np.ndarray:
        """alpha_t = 1 - beta_t for t = 1 .. T."""
        return self.alphas[self._index(t)]

    def alpha_bar(self, t) -> np.ndarray:
        """alpha_bar_t = alpha_1 ... alpha_t for t = 0 .. T; alpha_bar_0 = 1 (x_0 is the data)."""
        i = self._index(t, lowest=0)
        return np.where(i >= 0, self.alpha_bars[np.maximum(i, 0)], 1.0)

    def alpha_bar_before(self, t) -> np.ndarray:
        """alpha_bar_{t-1} for t = 1 .. T (1 at t = 1: x_0 itself is not noisy)."""
        return self.alpha_bar(np.asarray(t) - 1)

    def posterior_variance(self, t) -> np.ndarray:
        """beta-tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t: 0 at t = 1."""
        return (1.0 - self.alpha_bar_before(t)) / (1.0 - self.alpha_bar(t)) * self.beta(t)

    def q_sample(self, x0, t, noise) -> np.ndarray:
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise; one t per image (0: x_0)."""
        x0, noise = np.asarray(x0, np.float32), np.asarray(noise, np.float32)
        ab = _per_image(self.alpha_bar(t), x0.ndim)  # alpha_bar checks 0 <= t <= T
        return (np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * noise).astype(np.float32)


def _per_image(values, ndim: int) -> np.ndarray:
    """(N,) -> (N, 1, 1, 1) for broadcasting over an image batch (scalars stay scalars)."""
    values = np.asarray(values, np.float64)
    return values.reshape(values.shape + (1,) * (ndim - values.ndim)) if values.ndim else values


@keras.saving.register_keras_serializable(package="course")
class TimestepEmbedding(keras.layers.Layer):
    """Integer timesteps (N,) -> sinusoidal features (N, dim), as in the Transformer's positions.

    Feature i is sin(t * f_i) for the first half and cos(t * f_i) for the second, with frequencies
    f_i = max_period^(-i / (dim/2)) from 1 down to about 1 / max_period. No weights.
    """

    def __init__(self, dim: int = 64, max_period: float = 1000.0, **kwargs):
        super().__init__(**kwargs)
        if dim % 2:
            raise ValueError(f"dim must be even, got {dim}")
        self.dim, self.max_period = int(dim), float(max_period)

    def call(self, t):
        half = self.dim // 2
        freqs = keras.ops.exp(
            -math.log(self.max_period) * keras.ops.arange(half, dtype="float32") / half
        )
        angles = keras.ops.cast(keras.ops.reshape(t, (-1, 1)), "float32") * freqs[None, :]
        return keras.ops.concatenate([keras.ops.sin(angles), keras.ops.cos(angles)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "max_period": self.max_period}


# ---------------------------------------------------------------- the noise prediction


_COMPILED: dict = {}


def _predict_fn(model):
    """A compiled forward pass of `model` (one per model; retraced when the batch size changes)."""
    key = id(model)
    if key not in _COMPILED or _COMPILED[key][0] is not model:
        import tensorflow as tf

        def forward(x, t, y):
            return model([x, t, y], training=False)

        fn = tf.function(forward, reduce_retracing=True, autograph=False)
        _COMPILED[key] = (model, fn)
    return _COMPILED[key][1]


def guided_noise(eps_conditional, eps_unconditional, scale: float):
    """Classifier-free guidance: eps_u + s (eps_c - eps_u). s = 0: unconditional; 1: conditional."""
    return eps_unconditional + scale * (eps_conditional - eps_unconditional)


def predict_noise(model, x, t, labels=None, guidance: float = 1.0) -> np.ndarray:
    """The model's eps for x_t at integer timestep(s) t; with `labels`, guided with `guidance`.

    labels=None (or guidance=0) asks the unconditional model (label NULL_LABEL). Else guidance 1
    is the plain conditional prediction and guidance s != 1 combines both in one batch of 2N.
    """
    x = np.asarray(x, np.float32)
    n = len(x)
    t = np.broadcast_to(np.asarray(t, np.int32), (n,))
    fn = _predict_fn(model)
    null = np.full(n, NULL_LABEL, np.int32)
    if labels is None or guidance == 0:
        return np.asarray(fn(x, t, null))
    labels = np.broadcast_to(np.asarray(labels, np.int32), (n,))
    if guidance == 1:
        return np.asarray(fn(x, t, labels))
    both = np.asarray(
        fn(np.concatenate([x, x]), np.concatenate([t, t]), np.concatenate([labels, null]))
    )
    return np.asarray(guided_noise(both[:n], both[n:], guidance), np.float32)


# ---------------------------------------------------------------- samplers


def predicted_x0(schedule: Schedule, x_t, eps, t: int, clip: bool = False):
    """x0_hat = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t), and the eps that goes with it.

    clip=True clips x0_hat to the data range [-1, 1] and returns the eps that agrees with the
    clipped x0_hat (x_t = sqrt(ab_t) x0_hat + sqrt(1 - ab_t) eps still holds).
    """
    x_t = np.asarray(x_t, np.float64)
    ab = schedule.alpha_bar(t)
    x0 = (x_t - np.sqrt(1.0 - ab) * eps) / np.sqrt(ab)
    if not clip:
        return x0, np.asarray(eps, np.float64)
    x0 = np.clip(x0, -1.0, 1.0)
    return x0, (x_t - np.sqrt(ab) * x0) / np.sqrt(1.0 - ab)


def ddpm_step(schedule: Schedule, x_t, eps, t: int, noise, clip_x0: bool = False) -> np.ndarray:
    """One ancestral step x_t -> x_{t-1} (DDPM paper, Algorithm 2; sigma_t^2 = beta-tilde_t).

    mean = (x_t - beta_t / sqrt(1 - alpha_bar_t) * eps) / sqrt(alpha_t); x_{t-1} = mean + sigma_t z.
    At t = 1, sigma is 0: the last step, to x_0, adds no noise. clip_x0=True first clips the
    predicted x0_hat to [-1, 1] (`predicted_x0`): the mean is then that of q(x_{t-1} | x_t, x0_hat),
    which is what the DDPM authors' released sampler does (Algorithm 2 as printed does not clip).
    """
    if clip_x0:
        _, eps = predicted_x0(schedule, x_t, eps, t, clip=True)
    beta, alpha, ab = schedule.beta(t), schedule.alpha(t), schedule.alpha_bar(t)
    mean = (np.asarray(x_t, np.float64) - beta / np.sqrt(1.0 - ab) * eps) / np.sqrt(alpha)
    sigma = np.sqrt(schedule.posterior_variance(t))
    return (mean + sigma * np.asarray(noise, np.float64)).astype(np.float32)


def _start(shape, n: int, rng) -> np.ndarray:
    return rng.standard_normal((n, *shape)).astype(np.float32)


def _bar(total: int, desc: str, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", disable=not progress, leave=False)


def ddpm_sample(
    model,
    schedule: Schedule,
    n: int,
    labels=None,
    guidance: float = 1.0,
    seed: int = 0,
    shape=(28, 28, 1),
    batch_size: int = 500,
    progress: bool = False,
    clip_x0: bool = False,
) -> np.ndarray:
    """n images in [-1, 1] by T ancestral steps from x_T ~ N(0, I) (T calls per image).

    clip_x0=False is Algorithm 2 as printed; True clips each step's x0_hat (see `ddpm_step`).
    """
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        part_labels = None if labels is None else np.broadcast_to(labels, (n,))[start : start + m]
        x = _start(shape, m, rng)
        with _bar(schedule.steps, "DDPM", progress) as bar:
            for t in range(schedule.steps, 0, -1):
                eps = predict_noise(model, x, t, part_labels, guidance)
                x = ddpm_step(schedule, x, eps, t, rng.standard_normal(x.shape), clip_x0)
                bar.update(1)
        parts.append(x)
    return np.clip(np.concatenate(parts), -1.0, 1.0)


def ddim_timesteps(schedule: Schedule, steps: int) -> np.ndarray:
    """`steps` timesteps from T (pure noise) down to 1, evenly spaced, each one network call.

    Strictly decreasing, no repeats, for every `steps` from 1 to T. The step taken at the last of
    them goes to x_0, so `steps=1` jumps from x_T straight to the network's estimate of x_0.
    """
    if not isinstance(steps, (int, np.integer)) or not 1 <= steps <= schedule.steps:
        raise ValueError(f"steps must be an integer from 1 to T = {schedule.steps}, got {steps!r}")
    if steps == 1:
        return np.array([schedule.steps])
    # spacing (T - 1) / (steps - 1) >= 1, so rounding half up keeps the values distinct
    return np.floor(np.linspace(schedule.steps, 1, steps) + 0.5).astype(int)


def ddim_step(
    schedule: Schedule,
    x_t,
    eps,
    t: int,
    t_next: int,
    eta: float = 0.0,
    noise=None,
    clip_x0: bool = True,
) -> np.ndarray:
    """One DDIM step x_t -> x_{t_next} (0 <= t_next < t; t_next = 0 means "to x_0").

    x0_hat = (x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t); x_next = sqrt(ab_next) x0_hat
    + sqrt(1 - ab_next - sigma^2) eps + sigma z,
    sigma = eta sqrt((1 - ab_next) / (1 - ab_t) (1 - ab_t / ab_next)).
    eta = 0: deterministic; eta = 1 with every step: the DDPM step with sigma^2 = beta-tilde.
    """
    if not 0 <= t_next < t:
        raise ValueError(f"need 0 <= t_next < t, got t = {t}, t_next = {t_next}")
    ab, ab_next = schedule.alpha_bar(t), schedule.alpha_bar(t_next)
    x0, eps = predicted_x0(schedule, x_t, eps, t, clip=clip_x0)
    sigma = eta * np.sqrt((1.0 - ab_next) / (1.0 - ab) * (1.0 - ab / ab_next))
    x_next = np.sqrt(ab_next) * x0 + np.sqrt(np.maximum(1.0 - ab_next - sigma**2, 0.0)) * eps
    if eta > 0:
        x_next = x_next + sigma * np.asarray(noise, np.float64)
    return x_next.astype(np.float32)


def ddim_sample(
    model,
    schedule: Schedule,
    n: int,
    steps: int = 20,
    eta: float = 0.0,
    labels=None,
    guidance: float = 1.0,
    seed: int = 0,
    shape=(28, 28, 1),
    batch_size: int = 500,
    clip_x0: bool = True,
    progress: bool = False,
    x_start=None,
) -> np.ndarray:
    """n images in [-1, 1] with `steps` DDIM steps (network calls) from x_T ~ N(0, I).

    eta = 0 is deterministic: the same starting noise (seed, or `x_start`) gives the same images.
    """
    rng = np.random.default_rng(seed)
    times = ddim_timesteps(schedule, steps)
    parts = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        part_labels = None if labels is None else np.broadcast_to(labels, (n,))[start : start + m]
        x = (
            _start(shape, m, rng)
            if x_start is None
            else np.asarray(x_start, np.float32)[start : start + m]
        )
        with _bar(len(times), f"DDIM {steps}", progress) as bar:
            for i, t in enumerate(times):
                t_next = int(times[i + 1]) if i + 1 < len(times) else 0
                eps = predict_noise(model, x, int(t), part_labels, guidance)
                noise = rng.standard_normal(x.shape) if eta > 0 else None
                x = ddim_step(schedule, x, eps, int(t), t_next, eta, noise, clip_x0)
                bar.update(1)
        parts.append(x)
    return np.clip(np.concatenate(parts), -1.0, 1.0)
