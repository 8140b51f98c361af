"""Checkers for chapter 10 (diffusion): closed-form noising, the loss, one DDPM step, guidance.

    from utils.exercises import ch10 as ex
    ex.q1.check(q_sample)        # (x0, t, noise, schedule) -> x_t
    ex.q2.check(diffusion_loss)  # (model, schedule, x0, t, noise, labels) -> scalar MSE on eps
    ex.q3.check(ddpm_step)       # (x_t, eps, t, noise, schedule) -> x_{t-1}
    ex.q4.check(guided_noise)    # (eps_conditional, eps_unconditional, scale) -> guided eps

Each checker runs the learner's function and the course's reference (utils.chapters.diffusion) on
the same inputs and compares values; the typical mistakes are recognised by recomputing them.
"""

from __future__ import annotations

import keras
import numpy as np

from ..chapters import diffusion
from .fixtures import as_numbers, describe
from .framework import Exercise, Incorrect, call_answer


def _np(x, what="the result"):
    return as_numbers(x, what, finite=True)


def _name_the_mistake(out, wrong, where: str) -> None:
    """Raise Incorrect naming the first known mistake whose value `out` matches."""
    for value, message in wrong:
        if _close(out, value):
            raise Incorrect(f"{where}: {message}")


def _close(a, b, tol=1e-4) -> bool:
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=tol, atol=tol)


def _col(values, ndim=4):
    values = np.asarray(values, np.float64)
    return values.reshape(values.shape + (1,) * (ndim - 1))


def _schedule():
    return diffusion.Schedule(100)


# ---------------------------------------------------------------- q1: closed-form noising


def _q_sample_mistakes(x0, t, noise, s):
    ab, a = _col(s.alpha_bar(t)), _col(s.alpha(t))
    ab_before, ab_after = _col(s.alpha_bar_before(t)), _col(s.alpha_bar(t + 1))
    return [
        (
            np.sqrt(a) * x0 + np.sqrt(1 - a) * noise,
            "you used alpha_t (one step) where the closed form needs alpha_bar_t, the product "
            "alpha_1 ... alpha_t of all the steps so far (schedule.alpha_bars)",
        ),
        (
            ab * x0 + (1 - ab) * noise,
            "the coefficients are alpha_bar_t and 1 - alpha_bar_t: those are the *variances*; "
            "x_0 is scaled by sqrt(alpha_bar_t) and the noise by sqrt(1 - alpha_bar_t)",
        ),
        (
            np.sqrt(ab) * x0 + (1 - ab) * noise,
            "the noise is scaled by 1 - alpha_bar_t, the variance; its standard deviation is "
            "sqrt(1 - alpha_bar_t)",
        ),
        (
            x0 + np.sqrt(1 - ab) * noise,
            "x_0 is not shrunk: without the factor sqrt(alpha_bar_t) the variance grows past 1 "
            "and x_T is not N(0, I)",
        ),
        (
            np.sqrt(ab_before) * x0 + np.sqrt(1 - ab_before) * noise,
            "off by one: you used alpha_bar_(t-1), from schedule.alpha_bars[t - 2]; step t "
            "sits at index t - 1: schedule.alpha_bars[t - 1]",
        ),
        (
            np.sqrt(ab_after) * x0 + np.sqrt(1 - ab_after) * noise,
            "off by one: schedule.alpha_bars[t] is alpha_bar_(t+1), because the steps count "
            "from 1 and the array from 0; alpha_bar_t is schedule.alpha_bars[t - 1]",
        ),
        (
            np.sqrt(1 - ab) * x0 + np.sqrt(ab) * noise,
            "the two coefficients are swapped: x_0 gets sqrt(alpha_bar_t), near 1 for small t",
        ),
    ]


def _check_q_sample(fn) -> str:
    s = _schedule()
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, (4, 28, 28, 1)).astype(np.float32)
    noise = rng.standard_normal(x0.shape).astype(np.float32)
    t = np.array([1, 11, 56, 99])  # below T, so that alpha_bars[t] is a slip, not an IndexError
    out = _np(call_answer(fn, x0, t, noise, s), "x_t")
    if out.shape != x0.shape:
        raise Incorrect(
            f"x_t should have the shape of x0, {x0.shape}, got {out.shape}: take "
            "alpha_bars[t - 1] per image and reshape it to (N, 1, 1, 1) to broadcast"
        )
    expected = s.q_sample(x0, t, noise)
    if _close(out, expected):
        return (
            "x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, one t per image: "
            f"at t = T = {s.steps} only {np.sqrt(s.alpha_bar(s.steps)):.3f} of x_0 is left."
        )
    for wrong, message in _q_sample_mistakes(x0.astype(np.float64), t, noise, s):
        if _close(out, wrong):
            raise Incorrect(message)
    same_t = s.q_sample(x0, np.full(4, t[0]), noise)
    if _close(out, same_t) or _close(out[1:], s.q_sample(x0, np.full(4, t[1]), noise)[1:]):
        raise Incorrect("every image got the same timestep: t holds one timestep per image")
    raise Incorrect(
        f"x_t differs from sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps by up to "
        f"{np.abs(out - expected).max():.3g}"
    )


q1 = Exercise(
    "Closed-form noising q(x_t | x_0)",
    _check_q_sample,
    hint="ab = schedule.alpha_bars[t - 1] (the steps count from 1, the array from 0) gives one "
    "number per image; reshape it to (-1, 1, 1, 1), then return sqrt(ab) * x0 + "
    "sqrt(1 - ab) * noise.",
)


# ---------------------------------------------------------------- q2: the training loss


def _tiny_model(seed=0):
    """A small noise model with seeded initialisers: no draw from the learner's random state."""
    layers = keras.layers

    def init(k):
        return keras.initializers.GlorotUniform(seed=seed + k)

    x_in = keras.Input((28, 28, 1))
    t_in = keras.Input((), dtype="int32")
    y_in = keras.Input((), dtype="int32")
    emb = diffusion.TimestepEmbedding(8, max_period=100.0)(t_in)
    emb = layers.Dense(4, kernel_initializer=init(1))(emb)
    labels = layers.Embedding(diffusion.NUM_LABELS, 4, embeddings_initializer=init(2))(y_in)
    emb = layers.Add()([emb, labels])
    h = layers.Conv2D(4, 3, padding="same", kernel_initializer=init(3))(x_in)
    h = layers.Add()([h, layers.Reshape((1, 1, 4))(emb)])
    h = layers.Activation("tanh")(h)
    out = layers.Conv2D(1, 3, padding="same", kernel_initializer=init(4))(h)
    return keras.Model([x_in, t_in, y_in], out)


def _model_mse(model, x_in, t, labels, target):
    pred = np.asarray(model([x_in.astype(np.float32), t.astype(np.int32), labels]), np.float64)
    return float(np.mean((pred - target) ** 2))


def _loss_mistakes(model, s, x0, t, noise, labels):
    def noisy(ab):
        return (np.sqrt(_col(ab)) * x0 + np.sqrt(1 - _col(ab)) * noise).astype(np.float32)

    xt = noisy(s.alpha_bar(t))
    return [
        (
            _model_mse(model, xt, t, labels, x0),
            "the target is x_0: this model is asked to predict the *noise* eps that was added "
            "(mean of (model([x_t, t, labels]) - noise)^2)",
        ),
        (
            _model_mse(model, xt, t, labels, xt),
            "the target is x_t itself; the model must predict the noise eps",
        ),
        (
            _model_mse(model, x0, t, labels, noise),
            "the model is given the clean x_0: feed it the noisy x_t from the closed form",
        ),
        (
            _model_mse(model, noisy(s.alpha(t)), t, labels, noise),
            "x_t was made with alpha_t (one step); the closed form uses alpha_bar_t "
            "(schedule.alpha_bars)",
        ),
        (
            _model_mse(model, xt, t + 1, labels, noise),
            "off by one: the model is told timestep t + 1 for an x_t noised with alpha_bar_t",
        ),
        (
            _model_mse(model, xt, t - 1, labels, noise),
            "off by one: the model is told timestep t - 1 for an x_t noised with alpha_bar_t",
        ),
        (
            _model_mse(model, noisy(s.alpha_bar(t + 1)), t, labels, noise),
            "off by one: ops.take(alpha_bars, t) is alpha_bar_(t+1), because the steps count "
            "from 1 and the array from 0; take index t - 1",
        ),
        (
            _model_mse(model, noisy(s.alpha_bar_before(t)), t, labels, noise),
            "off by one: x_t was noised with alpha_bar_(t-1) (index t - 2); alpha_bar_t is at "
            "index t - 1",
        ),
        (
            _model_mse(model, xt, t, np.full_like(labels, diffusion.NULL_LABEL), noise),
            "the labels are not passed to the model (it saw only the null label)",
        ),
    ]


def _check_loss(fn) -> str:
    import tensorflow as tf

    s = _schedule()
    model = _tiny_model()
    rng = np.random.default_rng(1)
    x0 = rng.uniform(-1, 1, (6, 28, 28, 1)).astype(np.float32)
    noise = rng.standard_normal(x0.shape).astype(np.float32)
    t = np.array([1, 4, 21, 51, 81, 99], np.int32)
    labels = np.array([0, 1, 2, 3, 10, 9], np.int32)
    expected = _model_mse(model, s.q_sample(x0, t, noise), t, labels, noise)
    with tf.GradientTape() as tape:
        value = call_answer(
            fn, model, s, tf.constant(x0), tf.constant(t), tf.constant(noise), tf.constant(labels)
        )
    out = _np(value, "the loss")
    if out.size != 1:
        raise Incorrect(
            f"return one number, the mean over the batch and the pixels; got shape {out.shape}"
        )
    got = float(out.reshape(()))
    if abs(got - expected) > 1e-4 * max(1.0, expected):
        if abs(got - expected * 784) < 1e-3 * expected * 784:
            raise Incorrect(
                "784 times too large: you summed over the pixels; the DDPM loss is the "
                "mean squared error (the sum only rescales it, but then the learning "
                "rate in this chapter no longer fits)"
            )
        for wrong, message in _loss_mistakes(model, s, x0.astype(np.float64), t, noise, labels):
            if abs(got - wrong) < 1e-4 * max(1.0, wrong):
                raise Incorrect(message)
        raise Incorrect(f"on this batch the loss should be {expected:.5f}, yours is {got:.5f}")
    grads = tape.gradient(value, model.trainable_variables) if tf.is_tensor(value) else [None]
    if any(g is None for g in grads):
        raise Incorrect(
            "the value is right but no gradient reaches the model's weights: compute it with "
            "keras.ops (no NumPy, no .numpy()) so that GradientTape can differentiate it"
        )
    return f"Right value ({expected:.4f} on this batch) and gradients reach every weight."


q2 = Exercise(
    "The noise-prediction loss",
    _check_loss,
    hint="Exercise 1's closed form, in keras.ops: ops.take picks one alpha_bar per image (step t "
    "is at index t - 1), reshaped to (-1, 1, 1, 1) to broadcast. Then compare what the model "
    "predicts for [x_t, t, labels] with the noise: a mean of squares.",
)


# ---------------------------------------------------------------- q3: one DDPM step


_INDEX_SLIP = (
    "off by one: schedule.betas[t] (and alphas, alpha_bars) hold step t + 1, because the steps "
    "count from 1 and the arrays from 0; step t is at index t - 1"
)


def _ddpm_variants(x, eps, t, z, s):
    beta, alpha, ab = s.beta(t), s.alpha(t), s.alpha_bar(t)
    mean = (x - beta / np.sqrt(1 - ab) * eps) / np.sqrt(alpha)
    sigma_tilde = np.sqrt(s.posterior_variance(t))
    right = {"beta-tilde": mean + sigma_tilde * z}
    if t > 1:
        right["beta"] = mean + np.sqrt(beta) * z
    nb, na, nab = s.beta(t + 1), s.alpha(t + 1), s.alpha_bar(t + 1)  # the index-t slip
    slip = (x - nb / np.sqrt(1 - nab) * eps) / np.sqrt(na)
    wrong = [
        (slip + sigma_tilde * z, _INDEX_SLIP),
        (
            slip + np.sqrt(s.posterior_variance(t + 1)) * z,
            _INDEX_SLIP,
        ),
        (
            (x - beta / np.sqrt(1 - ab) * eps) / np.sqrt(ab) + sigma_tilde * z,
            "you divided by sqrt(alpha_bar_t); the step divides by sqrt(alpha_t), one step's alpha",
        ),
        (
            (x - beta / np.sqrt(1 - alpha) * eps) / np.sqrt(alpha) + sigma_tilde * z,
            "the noise coefficient is beta_t / sqrt(1 - alpha_bar_t), with alpha_bar, not alpha",
        ),
        (
            (x - np.sqrt(1 - ab) * eps) / np.sqrt(alpha) + sigma_tilde * z,
            "the noise coefficient is beta_t / sqrt(1 - alpha_bar_t), not sqrt(1 - alpha_bar_t) "
            "(that one belongs to the x_0 estimate)",
        ),
        (
            (x + beta / np.sqrt(1 - ab) * eps) / np.sqrt(alpha) + sigma_tilde * z,
            "the predicted noise is added; it must be subtracted",
        ),
        (
            mean + s.posterior_variance(t) * z,
            "the fresh noise is scaled by the variance; scale it by the standard deviation sigma_t",
        ),
        (
            mean + beta * z,
            "the fresh noise is scaled by beta_t, a variance; use sigma_t = sqrt(beta_t)",
        ),
        (
            mean,
            "no fresh noise is added: for t > 1 the DDPM step adds sigma_t z (t = 1 adds none)",
        ),
    ]
    if t == 1:
        wrong.insert(
            0,
            (
                mean + np.sqrt(beta) * z,
                "at t = 1 (the last step) no noise may be added: it would stay in the image",
            ),
        )
    return right, wrong


def _check_ddpm_step(fn) -> str:
    s = _schedule()
    rng = np.random.default_rng(2)
    shape = (3, 28, 28, 1)
    used = set()
    for t in (71, 6, 1):
        x, eps, z = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
        out = _np(call_answer(fn, x, eps, t, z, s), "x_{t-1}")
        if out.shape != shape:
            raise Incorrect(f"x_(t-1) should have the shape of x_t, {shape}, got {out.shape}")
        right, wrong = _ddpm_variants(x.astype(np.float64), eps, t, z, s)
        match = [name for name, value in right.items() if _close(out, value)]
        if match:
            used.add(match[0])
            continue
        _name_the_mistake(out, wrong, f"at t = {t}")
        raise Incorrect(
            f"at t = {t} your x_(t-1) differs from the DDPM step by up to "
            f"{np.abs(out - right['beta-tilde']).max():.3g}"
        )
    which = " or ".join(f"sigma_t^2 = {name}_t" for name in sorted(used))
    return f"Matches the DDPM step ({which}), with no noise added at the last step, t = 1."


q3 = Exercise(
    "One DDPM sampling step",
    _check_ddpm_step,
    hint="beta_t is schedule.betas[t - 1] (likewise alphas, alpha_bars); mean = (x_t - beta_t / "
    "sqrt(1 - alpha_bar_t) * eps) / sqrt(alpha_t); return mean + sigma_t * noise with sigma_t = "
    "sqrt(schedule.posterior_variance(t)), which is 0 at t = 1.",
)


# ---------------------------------------------------------------- q4: classifier-free guidance


def _check_guidance(fn) -> str:
    rng = np.random.default_rng(3)
    c = rng.standard_normal((2, 28, 28, 1)).astype(np.float32)
    u = rng.standard_normal((2, 28, 28, 1)).astype(np.float32)
    for scale in (3.0, 0.0, 1.0, 0.5):
        value = call_answer(fn, c, u, scale)
        out = _np(value, "the guided noise")
        if out.shape != c.shape:
            raise Incorrect(
                f"the guided noise should have the shape of eps, {c.shape}; got {describe(value)}"
            )
        expected = u + scale * (c - u)
        if _close(out, expected):
            continue
        wrong = [
            (
                c + scale * (u - c),
                "conditional and unconditional are swapped: start from the "
                "unconditional eps and move towards the conditional one",
            ),
            (
                c + scale * (c - u),
                "that is the w-convention (1 + w) eps_c - w eps_u of Ho & Salimans "
                "with w = scale; here scale s = 1 must give the conditional eps, so "
                "use eps_u + s (eps_c - eps_u)",
            ),
            (
                scale * c + u,
                "the unconditional eps must be subtracted inside the difference: "
                "eps_u + s (eps_c - eps_u)",
            ),
            (
                scale * (c - u),
                "the difference alone is a direction, not a noise estimate: add it to eps_u",
            ),
            (scale * c, "the unconditional prediction is ignored: that only rescales eps_c"),
        ]
        _name_the_mistake(out, wrong, f"with scale {scale}")
        raise Incorrect(
            f"with scale {scale} expected eps_u + s (eps_c - eps_u); yours differs by "
            f"up to {np.abs(out - expected).max():.3g}"
        )
    return "Right: s = 0 is unconditional, s = 1 conditional, s > 1 pushes past the conditional."


q4 = Exercise(
    "Classifier-free guidance",
    _check_guidance,
    hint="Start from the unconditional prediction and move `scale` times the difference towards "
    "the conditional one: eps_u + scale * (eps_c - eps_u).",
)
