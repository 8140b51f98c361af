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
    for t in range(30):  # up to x_29, i.e. the alpha_bar[29] of the 0-based schedule
        x = np.sqrt(1 - s.betas[t]) * x + np.sqrt(s.betas[t]) * rng.standard_normal(x.shape)
    closed = s.q_sample(np.broadcast_to(x0, (n, 3)), np.full(n, 29), rng.standard_normal((n, 3)))
    ab = s.alpha_bars[29]
    for sample in (x, closed):
        assert np.allclose(sample.mean(0), np.sqrt(ab) * x0, atol=0.01)
        assert np.allclose(sample.var(0), 1 - ab, rtol=0.02)
    # and *not* the law one gets by confusing alpha_t with alpha_bar_t
    assert not np.allclose(x.mean(0), np.sqrt(s.alphas[29]) * x0, atol=0.05)


def test_q_sample_broadcasts_one_timestep_per_image():
    s = diffusion.Schedule(100)
    x0 = np.ones((3, 28, 28, 1), np.float32)
    noise = np.zeros_like(x0)
    out = s.q_sample(x0, np.array([0, 50, 99]), noise)
    assert out.shape == x0.shape and out.dtype == np.float32
    assert np.allclose(out[:, 0, 0, 0], np.sqrt(s.alpha_bars[[0, 50, 99]]), atol=1e-6)


def test_posterior_variance_is_zero_at_t0_and_below_beta():
    s = diffusion.Schedule(100)
    v = s.posterior_variance(np.arange(100))
    assert v[0] == 0 and np.all(v[1:] > 0) and np.all(v <= s.betas + 1e-12)


def test_ddim_with_eta_1_and_every_step_is_the_ddpm_step():
    s = diffusion.Schedule(100)
    rng = np.random.default_rng(1)
    x, eps, z = (rng.standard_normal((4, 28, 28, 1)) for _ in range(3))
    for t in (99, 40, 1):
        ddpm = diffusion.ddpm_step(s, x, eps, t, z)
        ddim = diffusion.ddim_step(s, x, eps, t, t - 1, eta=1.0, noise=z, clip_x0=False)
        assert np.allclose(ddpm, ddim, atol=1e-5)


def test_ddpm_step_with_clip_x0_is_the_posterior_mean_at_the_clipped_x0():
    s = diffusion.Schedule(100)
    rng = np.random.default_rng(3)
    x, eps, z = (rng.standard_normal((4, 28, 28, 1)) for _ in range(3))
    for t in (99, 40, 1):
        ab, ab_prev = s.alpha_bars[t], s.alpha_bars[t - 1]
        x0 = np.clip((x - np.sqrt(1 - ab) * eps) / np.sqrt(ab), -1, 1)
        assert (np.abs((x - np.sqrt(1 - ab) * eps) / np.sqrt(ab)) > 1).any()  # clipping bites
        # q(x_{t-1} | x_t, x_0): the DDPM paper's equation 7, written out independently
        mean = (np.sqrt(ab_prev) * s.betas[t] / (1 - ab)) * x0 + (
            np.sqrt(s.alphas[t]) * (1 - ab_prev) / (1 - ab)
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
    ab = s.alpha_bars[30]
    assert wild.min() >= -1 and wild.max() <= 1
    assert np.allclose(np.sqrt(ab) * wild + np.sqrt(1 - ab) * new_eps, x_t, atol=1e-5)


def test_ddpm_step_recovers_x0_when_the_noise_is_known():
    s = diffusion.Schedule(100)
    rng = np.random.default_rng(2)
    x0, eps = rng.uniform(-1, 1, (2, 28, 28, 1)), rng.standard_normal((2, 28, 28, 1))
    x1 = s.q_sample(x0, np.zeros(2, int), eps)  # the first noisy step
    assert np.allclose(diffusion.ddpm_step(s, x1, eps, 0, np.zeros_like(x1)), x0, atol=1e-5)
    assert np.allclose(diffusion.ddim_step(s, x1, eps, 0, -1), x0, atol=1e-5)


def test_ddim_timesteps():
    s = diffusion.Schedule(200)
    steps = diffusion.ddim_timesteps(s, 10)
    assert len(steps) == 10 and steps[0] == 199 and steps[-1] == 0 and np.all(np.diff(steps) < 0)
    assert len(diffusion.ddim_timesteps(s, 200)) == 200
    with pytest.raises(ValueError):
        diffusion.ddim_timesteps(s, 0)


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
    t, y = np.array([0, 59]), np.array([3, diffusion.NULL_LABEL])
    assert np.allclose(loaded([x, t, y]), model([x, t, y]), atol=1e-6)
    emb = np.asarray(diffusion.TimestepEmbedding(8)(np.array([0, 1])))
    assert emb.shape == (2, 8) and np.allclose(emb[0], [0, 0, 0, 0, 1, 1, 1, 1])
    with pytest.raises(ValueError):
        diffusion.TimestepEmbedding(7)
