"""Chapter 10 checkers accept right answers and reject the typical diffusion mistakes by name."""

import numpy as np
from keras import ops

import utils  # noqa: F401
from utils.chapters import diffusion
from utils.exercises import ch10 as ex


def _outcome(q, answer):
    return q.evaluate(answer)


def _rejects(q, answer, words):
    outcome = q.evaluate(answer)
    assert outcome.status == "incorrect", outcome
    assert words in outcome.message, outcome.message


def _col(v):
    return ops.reshape(v, (-1, 1, 1, 1))


# ---------------------------------------------------------------- q1 closed-form noising


def q_sample(x0, t, noise, schedule):
    ab = schedule.alpha_bars[t - 1].reshape(-1, 1, 1, 1)
    return np.sqrt(ab) * x0 + np.sqrt(1 - ab) * noise


def test_q1_accepts_right_answers():
    assert _outcome(ex.q1, q_sample).status == "correct"
    assert _outcome(ex.q1, lambda x0, t, n, s: s.q_sample(x0, t, n)).status == "correct"

    def with_ops(x0, t, noise, schedule):
        ab = _col(ops.take(ops.convert_to_tensor(schedule.alpha_bars, "float32"), t - 1))
        return ops.sqrt(ab) * x0 + ops.sqrt(1.0 - ab) * noise

    assert _outcome(ex.q1, with_ops).status == "correct"


def test_q1_rejects_the_typical_mistakes():
    def alphas(x0, t, noise, s):
        a = s.alphas[t - 1].reshape(-1, 1, 1, 1)
        return np.sqrt(a) * x0 + np.sqrt(1 - a) * noise

    def no_sqrt(x0, t, noise, s):
        ab = s.alpha_bars[t - 1].reshape(-1, 1, 1, 1)
        return ab * x0 + (1 - ab) * noise

    def variance_on_noise(x0, t, noise, s):
        ab = s.alpha_bars[t - 1].reshape(-1, 1, 1, 1)
        return np.sqrt(ab) * x0 + (1 - ab) * noise

    def off_by_one(x0, t, noise, s):  # the slip of forgetting that arrays count from 0
        ab = s.alpha_bars[t].reshape(-1, 1, 1, 1)
        return np.sqrt(ab) * x0 + np.sqrt(1 - ab) * noise

    def one_before(x0, t, noise, s):
        ab = s.alpha_bar(t - 1).reshape(-1, 1, 1, 1)
        return np.sqrt(ab) * x0 + np.sqrt(1 - ab) * noise

    def one_t(x0, t, noise, s):
        ab = s.alpha_bars[t[0] - 1]
        return np.sqrt(ab) * x0 + np.sqrt(1 - ab) * noise

    def no_broadcast(x0, t, noise, s):
        ab = s.alpha_bars[t - 1]  # (N,) against (N, 28, 28, 1): broadcasts over the wrong axis
        return np.sqrt(ab) * x0 + np.sqrt(1 - ab) * noise

    _rejects(ex.q1, alphas, "alpha_bar_t, the product")
    _rejects(ex.q1, no_sqrt, "*variances*")
    _rejects(ex.q1, variance_on_noise, "standard deviation is sqrt(1 - alpha_bar_t)")
    _rejects(
        ex.q1,
        lambda x0, t, n, s: x0 + np.sqrt(1 - s.alpha_bars[t - 1]).reshape(-1, 1, 1, 1) * n,
        "x_0 is not shrunk",
    )
    _rejects(ex.q1, off_by_one, "schedule.alpha_bars[t] is alpha_bar_(t+1)")
    _rejects(ex.q1, one_before, "alpha_bar_(t-1)")
    _rejects(ex.q1, one_t, "same timestep")
    _rejects(ex.q1, no_broadcast, "shape")
    assert _outcome(ex.q1, None).status == "not attempted"


# ---------------------------------------------------------------- q2 the loss


def diffusion_loss(model, schedule, x0, t, noise, labels):
    ab = _col(ops.take(ops.convert_to_tensor(schedule.alpha_bars, "float32"), t - 1))
    x_t = ops.sqrt(ab) * x0 + ops.sqrt(1.0 - ab) * noise
    return ops.mean(ops.square(model([x_t, t, labels], training=True) - noise))


def _loss_with(
    target="noise",
    shift=0,
    noisy_with="alpha_bars",
    x_shift=0,
    null=False,
    clean=False,
    reduce="mean",
):
    def loss(model, schedule, x0, t, noise, labels):
        table = getattr(schedule, noisy_with)
        index = ops.maximum(t - 1 + x_shift, 0)  # step t sits at index t - 1
        ab = _col(ops.take(ops.convert_to_tensor(table, "float32"), index))
        if x_shift == -1:
            ab = ops.where(_col(t) > 1, ab, 1.0)  # alpha_bar_0 = 1
        x_t = ops.sqrt(ab) * x0 + ops.sqrt(1.0 - ab) * noise
        given = ops.full_like(labels, diffusion.NULL_LABEL) if null else labels
        pred = model([x0 if clean else x_t, t + shift, given], training=True)
        goal = {"noise": noise, "x0": x0}[target]
        err = ops.square(pred - goal)
        return ops.mean(err) if reduce == "mean" else ops.mean(ops.sum(err, axis=(1, 2, 3)))

    return loss


def test_q2_accepts_the_right_loss():
    outcome = _outcome(ex.q2, diffusion_loss)
    assert outcome.status == "correct", outcome
    assert _outcome(ex.q2, _loss_with()).status == "correct"


def test_q2_rejects_wrong_targets_timesteps_and_schedules():
    _rejects(ex.q2, _loss_with(target="x0"), "the target is x_0")
    _rejects(ex.q2, _loss_with(shift=1), "timestep t + 1")
    _rejects(ex.q2, _loss_with(noisy_with="alphas"), "alpha_t (one step)")
    _rejects(ex.q2, _loss_with(x_shift=-1), "noised with alpha_bar_(t-1)")
    _rejects(ex.q2, _loss_with(x_shift=1), "ops.take(alpha_bars, t) is alpha_bar_(t+1)")
    _rejects(ex.q2, _loss_with(shift=-1), "timestep t - 1")
    _rejects(ex.q2, _loss_with(clean=True), "clean x_0")
    _rejects(ex.q2, _loss_with(null=True), "labels are not passed")
    _rejects(ex.q2, _loss_with(reduce="sum"), "784 times")


def test_q2_rejects_a_numpy_loss_that_cuts_the_gradient():
    def numpy_loss(model, schedule, x0, t, noise, labels):
        x_t = schedule.q_sample(np.asarray(x0), np.asarray(t), np.asarray(noise))
        pred = np.asarray(model([x_t, np.asarray(t), np.asarray(labels)]))
        return float(np.mean((pred - np.asarray(noise)) ** 2))

    _rejects(ex.q2, numpy_loss, "no gradient")


# ---------------------------------------------------------------- q3 one DDPM step


def ddpm_step(x_t, eps, t, noise, schedule):
    beta, alpha, ab = schedule.betas[t - 1], schedule.alphas[t - 1], schedule.alpha_bars[t - 1]
    mean = (x_t - beta / np.sqrt(1 - ab) * eps) / np.sqrt(alpha)
    return mean + np.sqrt(schedule.posterior_variance(t)) * noise


def _step_with(divide="alphas", coef="right", sign=-1, sigma="tilde", noise_at_0=False, index=-1):
    def step(x_t, eps, t, noise, s):
        i = t + index  # the array index of step t is t - 1; index=0 is the off-by-one slip
        beta, ab = s.betas[i], s.alpha_bars[i]
        c = {"right": beta / np.sqrt(1 - ab), "sqrt": np.sqrt(1 - ab)}[coef]
        mean = (x_t + sign * c * eps) / np.sqrt(getattr(s, divide)[i])
        if t == 1 and not noise_at_0:
            return mean
        scale = {
            "tilde": np.sqrt(s.posterior_variance(t)),
            "beta": np.sqrt(beta),
            "variance": s.posterior_variance(t),
            "none": 0.0,
        }[sigma]
        return mean + scale * noise

    return step


def test_q3_accepts_both_variances_of_the_paper():
    assert _outcome(ex.q3, ddpm_step).status == "correct"
    outcome = _outcome(ex.q3, _step_with(sigma="beta"))
    assert outcome.status == "correct" and "beta_t" in outcome.message
    assert (
        _outcome(ex.q3, lambda x, e, t, z, s: diffusion.ddpm_step(s, x, e, t, z)).status
        == "correct"
    )


def test_q3_rejects_the_typical_mistakes():
    _rejects(ex.q3, _step_with(divide="alpha_bars"), "divided by sqrt(alpha_bar_t)")
    _rejects(ex.q3, _step_with(coef="sqrt"), "not sqrt(1 - alpha_bar_t)")
    _rejects(ex.q3, _step_with(sign=1), "must be subtracted")
    _rejects(ex.q3, _step_with(sigma="variance"), "by the variance")
    _rejects(ex.q3, _step_with(sigma="none"), "no fresh noise")
    _rejects(ex.q3, _step_with(sigma="beta", noise_at_0=True), "at t = 1")
    _rejects(ex.q3, _step_with(index=0), "off by one")


# ---------------------------------------------------------------- q4 guidance


def test_q4_accepts_the_guidance_combination():
    assert _outcome(ex.q4, lambda c, u, s: u + s * (c - u)).status == "correct"
    assert _outcome(ex.q4, lambda c, u, s: s * c + (1 - s) * u).status == "correct"
    assert _outcome(ex.q4, diffusion.guided_noise).status == "correct"


def test_q4_rejects_the_typical_mistakes():
    _rejects(ex.q4, lambda c, u, s: c + s * (u - c), "swapped")
    _rejects(ex.q4, lambda c, u, s: c + s * (c - u), "w-convention")
    _rejects(ex.q4, lambda c, u, s: s * c + u, "subtracted inside")
    _rejects(ex.q4, lambda c, u, s: s * (c - u), "direction")
    _rejects(ex.q4, lambda c, u, s: s * c, "ignored")


def test_checks_leave_the_global_random_state_alone():
    np.random.seed(11)
    expected = np.random.random()
    np.random.seed(11)
    for q, answer in ((ex.q1, q_sample), (ex.q2, diffusion_loss), (ex.q3, ddpm_step)):
        assert q.evaluate(answer)
    assert np.random.random() == expected


# ------------------------------------------------ chapter 08's drill 7 (diffusion)


def test_ch08_drill7_closed_form_coefficients():
    from utils.exercises import ch08

    def right(betas):
        ab = np.cumprod(1 - betas)
        return np.sqrt(ab), np.sqrt(1 - ab)

    assert _outcome(ch08.q12, right).status == "correct"
    assert (
        "Drill 7" in ch08.q12.title and ch08.q12 not in ch08.DRILLS
    )  # the scorecard list is unchanged

    def shifted(betas):
        ab = np.concatenate([[1.0], np.cumprod(1 - betas)[:-1]])
        return np.sqrt(ab), np.sqrt(1 - ab)

    _rejects(ch08.q12, lambda b: (np.sqrt(1 - b), np.sqrt(b)), "one step's factor")
    _rejects(ch08.q12, lambda b: (np.cumprod(1 - b), 1 - np.cumprod(1 - b)), "take square roots")
    _rejects(
        ch08.q12,
        lambda b: (np.sqrt(np.clip(1 - np.cumsum(b), 0, None)), np.sqrt(np.cumsum(b))),
        "betas were summed",
    )
    _rejects(ch08.q12, shifted, "off by one")
    _rejects(
        ch08.q12,
        lambda b: (np.sqrt(np.cumprod(1 - b)), np.sqrt(np.cumsum(b))),
        "shrinking of earlier noise",
    )
    _rejects(ch08.q12, lambda b: np.sqrt(np.cumprod(1 - b)), "pair")
    _rejects(ch08.q12, lambda b: (np.ones(3), np.ones(3)), "shape (100,)")
