"""utils.chapters.diffusion: the schedule, q(x_t | x_0) in closed form, the samplers, the layer."""

import keras
import numpy as np
import pytest
from keras import layers

import utils  # noqa: F401  (quiets TensorFlow first)
from utils.chapters import diffusion


def tiny_noise_model(seed=0):
    """A small conditional noise model with the course's signature model([x_t, t, labels])."""
    keras.utils.set_random_seed(seed)
    x_in = keras.Input((28, 28, 1))
    t_in = keras.Input((), dtype="int32")
    y_in = keras.Input((), dtype="int32")
    emb = layers.Dense(4)(diffusion.TimestepEmbedding(8)(t_in))
    emb = layers.Add()([emb, layers.Embedding(diffusion.NUM_LABELS, 4)(y_in)])
    h = layers.Conv2D(4, 3, padding="same")(x_in)
    h = layers.Add()([h, layers.Reshape((1, 1, 4))(emb)])
    out = layers.Conv2D(1, 3, padding="same")(layers.Activation("swish")(h))
    return keras.Model([x_in, t_in, y_in], out)


def test_alpha_bar_is_the_product_of_alphas_and_decreases():
    s = diffusion.Schedule(200)
    assert np.allclose(s.alphas, 1 - s.betas)
    assert np.allclose(s.alpha_bars, np.cumprod(1 - s.betas))
    assert np.all(np.diff(s.alpha_bars) < 0) and 0 < s.alpha_bars[-1] < 1e-3 < s.alpha_bars[0] < 1
    assert s.alpha_bars[0] == pytest.approx(1 - s.betas[0])
    # the rescaled schedule ends about as noisy as the DDPM paper's 1,000-step one
    paper = diffusion.Schedule(1000)
    assert paper.betas[0] == pytest.approx(1e-4) and paper.betas[-1] == pytest.approx(0.02)
    assert np.log(s.alpha_bars[-1]) == pytest.approx(np.log(paper.alpha_bars[-1]), rel=0.05)


def test_schedule_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps"):
        diffusion.Schedule(1)
    with pytest.raises(ValueError, match="beta"):
        diffusion.Schedule(100, beta_start=0.5, beta_end=0.1)
    with pytest.raises(ValueError, match="steps >= 51"):
        diffusion.Schedule(20)
    assert diffusion.Schedule(20, 1e-3, 0.3).betas[-1] == pytest.approx(0.3)


def test_closed_form_matches_iterating_the_one_step_process_in_distribution():
    """x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps, t times, has the closed form's law."""
    s = diffusion.Schedule(50)
    rng = np.random.default_rng(0)
    x0 = np.array([0.9, -0.4, 0.0])
    n = 200_000
    x = np.broadcast_to(x0, (n, 3)).astype(np.float64)
    for t in range(1, 31):  # steps 1 .. 30: x_30
        x = np.sqrt(1 - s.beta(t)) * x + np.sqrt(s.beta(t)) * rng.standard_normal(x.shape)
    closed = s.q_sample(np.broadcast_to(x0, (n, 3)), np.full(n, 30), rng.standard_normal((n, 3)))
    ab = s.alpha_bar(30)
    assert ab == s.alpha_bars[29] == np.prod(s.alphas[:30])  # step t sits at array index t - 1
    for sample in (x, closed):
        assert np.allclose(sample.mean(0), np.sqrt(ab) * x0, atol=0.01)
        assert np.allclose(sample.var(0), 1 - ab, rtol=0.02)
    # and *not* the law one gets by confusing alpha_t with alpha_bar_t
    assert not np.allclose(x.mean(0), np.sqrt(s.alpha(30)) * x0, atol=0.05)


def test_q_sample_broadcasts_one_timestep_per_image():
    s = diffusion.Schedule(100)
    x0 = np.ones((3, 28, 28, 1), np.float32)
    noise = np.zeros_like(x0)
    out = s.q_sample(x0, np.array([1, 50, 100]), noise)
    assert out.shape == x0.shape and out.dtype == np.float32
    assert np.allclose(out[:, 0, 0, 0], np.sqrt(s.alpha_bars[[0, 49, 99]]), atol=1e-6)
    assert np.array_equal(s.q_sample(x0, np.array([0, 0, 0]), noise + 1), x0)  # x_0: the data
    with pytest.raises(ValueError, match="0 .. T"):
        s.q_sample(x0, np.array([1, 50, 101]), noise)


def test_one_based_accessors_and_alpha_bar_0_is_1():
    s = diffusion.Schedule(100)
    assert s.beta(1) == s.betas[0] and s.alpha(100) == s.alphas[-1]
    assert s.alpha_bar(0) == 1.0 and s.alpha_bar(1) == pytest.approx(1 - s.betas[0])
    assert np.allclose(s.alpha_bar(np.arange(1, 101)), s.alpha_bars)
    assert np.allclose(s.alpha_bar_before(np.arange(2, 101)), s.alpha_bars[:-1])
    with pytest.raises(ValueError):
        s.beta(0)


def test_posterior_variance_is_zero_at_t1_and_below_beta():
    s = diffusion.Schedule(100)
    v = s.posterior_variance(np.arange(1, 101))
    assert v[0] == 0 and np.all(v[1:] > 0) and np.all(v <= s.betas + 1e-12)


def test_ddim_with_eta_1_and_every_step_is_the_ddpm_step():
    s = diffusion.Schedule(100)
    rng = np.random.default_rng(1)
    x, eps, z = (rng.standard_normal((4, 28, 28, 1)) for _ in range(3))
    for t in (100, 40, 2, 1):
        ddpm = diffusion.ddpm_step(s, x, eps, t, z)
        ddim = diffusion.ddim_step(s, x, eps, t, t - 1, eta=1.0, noise=z, clip_x0=False)
        assert np.allclose(ddpm, ddim, atol=1e-5)


def test_ddpm_step_with_clip_x0_is_the_posterior_mean_at_the_clipped_x0():
    s = diffusion.Schedule(100)
    rng = np.random.default_rng(3)
    x, eps, z = (rng.standard_normal((4, 28, 28, 1)) for _ in range(3))
    for t in (100, 40, 2):
        ab, ab_prev = s.alpha_bar(t), s.alpha_bar(t - 1)
        x0 = np.clip((x - np.sqrt(1 - ab) * eps) / np.sqrt(ab), -1, 1)
        assert (np.abs((x - np.sqrt(1 - ab) * eps) / np.sqrt(ab)) > 1).any()  # clipping bites
        # q(x_{t-1} | x_t, x_0): the DDPM paper's equation 7, written out independently
        mean = (np.sqrt(ab_prev) * s.beta(t) / (1 - ab)) * x0 + (
            np.sqrt(s.alpha(t)) * (1 - ab_prev) / (1 - ab)
        ) * x
        expected = mean + np.sqrt(s.posterior_variance(t)) * z
        clipped = diffusion.ddpm_step(s, x, eps, t, z, clip_x0=True)
        assert np.allclose(clipped, expected, atol=1e-5)
        assert not np.allclose(clipped, diffusion.ddpm_step(s, x, eps, t, z), atol=1e-3)
        ddim = diffusion.ddim_step(s, x, eps, t, t - 1, eta=1.0, noise=z, clip_x0=True)
        assert np.allclose(clipped, ddim, atol=1e-5)


def test_predicted_x0_inverts_the_closed_form_and_clipping_keeps_it_consistent():
    s = diffusion.Schedule(100)
    rng = np.random.default_rng(4)
    x0, eps = rng.uniform(-1, 1, (2, 28, 28, 1)), rng.standard_normal((2, 28, 28, 1))
    x_t = s.q_sample(x0, np.full(2, 30), eps)
    found, same_eps = diffusion.predicted_x0(s, x_t, eps, 30)
    assert np.allclose(found, x0, atol=1e-5) and np.allclose(same_eps, eps)
    wild, new_eps = diffusion.predicted_x0(s, x_t, eps + 3.0, 30, clip=True)
    ab = s.alpha_bar(30)
    assert wild.min() >= -1 and wild.max() <= 1
    assert np.allclose(np.sqrt(ab) * wild + np.sqrt(1 - ab) * new_eps, x_t, atol=1e-5)


def test_ddpm_step_recovers_x0_when_the_noise_is_known():
    s = diffusion.Schedule(100)
    rng = np.random.default_rng(2)
    x0, eps = rng.uniform(-1, 1, (2, 28, 28, 1)), rng.standard_normal((2, 28, 28, 1))
    x1 = s.q_sample(x0, np.ones(2, int), eps)  # the first noisy step
    assert np.allclose(diffusion.ddpm_step(s, x1, eps, 1, np.zeros_like(x1)), x0, atol=1e-5)
    assert np.allclose(diffusion.ddim_step(s, x1, eps, 1, 0), x0, atol=1e-5)


@pytest.mark.parametrize("steps", [1, 2, 10, 100])
def test_ddim_timesteps_start_at_pure_noise_and_end_at_the_first_step(steps):
    s = diffusion.Schedule(100)
    times = diffusion.ddim_timesteps(s, steps)
    expected = {1: [100], 2: [100, 1], 100: list(range(100, 0, -1))}
    assert len(times) == steps and times[0] == 100  # the first step starts from x_T, pure noise
    assert times[-1] == (100 if steps == 1 else 1) and np.all(np.diff(times) < 0)
    if steps in expected:
        assert times.tolist() == expected[steps]
    else:  # evenly spaced: gaps of 11, the rounding of 99 / 9
        assert times.tolist() == [100, 89, 78, 67, 56, 45, 34, 23, 12, 1]


def test_ddim_timesteps_for_every_count_and_several_lengths():
    for big_t in (51, 60, 100, 200):
        s = diffusion.Schedule(big_t)
        for steps in range(1, big_t + 1):
            times = diffusion.ddim_timesteps(s, steps)
            assert len(times) == steps == len(set(times.tolist())) and times[0] == big_t
            assert times.min() >= 1 and np.all(np.diff(times) < 0)
            if steps > 1:
                assert times[-1] == 1
                gaps = -np.diff(times)  # evenly spaced: the gaps differ by at most 1
                assert gaps.max() - gaps.min() <= 1
    for bad in (0, big_t + 1, 2.5):
        with pytest.raises(ValueError):
            diffusion.ddim_timesteps(s, bad)


def test_one_step_ddim_goes_from_noise_to_the_x0_estimate():
    """One DDIM step from x_T returns the clipped x0 prediction, not (a rescaled) x_T."""
    s = diffusion.Schedule(100)
    model = tiny_noise_model()
    x_start = np.random.default_rng(0).standard_normal((3, 28, 28, 1)).astype(np.float32)
    eps = diffusion.predict_noise(model, x_start, s.steps)
    x0_hat, _ = diffusion.predicted_x0(s, x_start, eps, s.steps, clip=True)
    one = diffusion.ddim_sample(model, s, 3, steps=1, x_start=x_start)
    assert np.allclose(one, x0_hat, atol=1e-5)
    assert not np.allclose(one, np.clip(x_start, -1, 1), atol=0.1)


def test_guided_noise_combination():
    c, u = np.array([2.0]), np.array([1.0])
    assert diffusion.guided_noise(c, u, 0.0) == pytest.approx(1.0)
    assert diffusion.guided_noise(c, u, 1.0) == pytest.approx(2.0)
    assert diffusion.guided_noise(c, u, 3.0) == pytest.approx(4.0)  # 1 + 3 * (2 - 1)


def test_samplers_on_a_tiny_model_shapes_ranges_determinism():
    model = tiny_noise_model()
    s = diffusion.Schedule(60)
    a = diffusion.ddim_sample(model, s, 5, steps=4, seed=3, batch_size=2)
    b = diffusion.ddim_sample(model, s, 5, steps=4, seed=3, batch_size=2)
    c = diffusion.ddim_sample(model, s, 5, steps=4, seed=4, batch_size=2)
    assert a.shape == (5, 28, 28, 1) and a.dtype == np.float32
    assert a.min() >= -1 and a.max() <= 1 and np.isfinite(a).all()
    assert np.array_equal(a, b) and not np.allclose(a, c)  # eta = 0: deterministic given the seed
    stochastic = [diffusion.ddim_sample(model, s, 2, steps=4, eta=1.0, seed=3) for _ in range(2)]
    assert np.array_equal(*stochastic)  # the seed fixes the noise too ...
    x_start = np.random.default_rng(3).standard_normal((2, 28, 28, 1)).astype(np.float32)
    same_start = diffusion.ddim_sample(model, s, 2, steps=4, x_start=x_start)
    assert np.array_equal(same_start, a[:2])  # ... and x_start replaces the seed's first draw
    d = diffusion.ddpm_sample(model, s, 3, labels=np.array([1, 2, 3]), guidance=2.0, seed=0)
    assert d.shape == (3, 28, 28, 1) and d.min() >= -1 and d.max() <= 1 and np.isfinite(d).all()
    e = diffusion.ddpm_sample(model, s, 3, labels=np.array([1, 2, 3]), guidance=2.0, seed=0,
                              clip_x0=True)
    assert e.shape == d.shape and np.isfinite(e).all() and not np.array_equal(d, e)


def test_samplers_leave_the_global_random_state_alone():
    model = tiny_noise_model()
    s = diffusion.Schedule(60)
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    diffusion.ddpm_sample(model, s, 2, seed=1)
    diffusion.ddim_sample(model, s, 2, steps=3, eta=0.5, seed=1)
    assert np.random.random() == expected


def test_guidance_uses_the_null_label_for_the_unconditional_half():
    model = tiny_noise_model()
    x = np.random.default_rng(0).standard_normal((3, 28, 28, 1)).astype(np.float32)
    labels = np.array([0, 5, 9])
    uncond = diffusion.predict_noise(model, x, 7)
    cond = diffusion.predict_noise(model, x, 7, labels)
    null = model([x, np.full(3, 7), np.full(3, diffusion.NULL_LABEL)])
    assert np.allclose(uncond, null, atol=1e-5)
    guided = diffusion.predict_noise(model, x, 7, labels, guidance=3.0)
    assert np.allclose(guided, uncond + 3.0 * (cond - uncond), atol=1e-4)


def test_a_model_with_the_timestep_embedding_saves_and_loads_in_safe_mode(tmp_path):
    model = tiny_noise_model()
    path = tmp_path / "eps.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # safe_mode=True is the default
    x = np.zeros((2, 28, 28, 1), np.float32)
    t, y = np.array([1, 60]), np.array([3, diffusion.NULL_LABEL])
    assert np.allclose(loaded([x, t, y]), model([x, t, y]), atol=1e-6)
    emb = np.asarray(diffusion.TimestepEmbedding(8)(np.array([0, 1])))
    assert emb.shape == (2, 8) and np.allclose(emb[0], [0, 0, 0, 0, 1, 1, 1, 1])
    with pytest.raises(ValueError):
        diffusion.TimestepEmbedding(7)
