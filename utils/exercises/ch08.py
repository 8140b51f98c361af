"""Checkers for chapter 08 (interview prep): derivation drills q1-q6 and q12 (drill 7), find-the-bug drills
q7-q11 (bugs 1-5).

Every checker calls the learner's function on small inputs made here and compares with a reference,
so a wrong answer gets a message about *what* is wrong (sign, missing factor, wrong shape...).
"""

from __future__ import annotations

import numpy as np

from .. import gan, metrics, vae
from . import fixtures as fx
from .fixtures import as_array, as_numbers, as_scalar, describe, softplus
from .framework import Exercise, Incorrect, call_answer


# ---------------------------------------------------------------- q1: closed-form KL
def _kl_reference(mu, log_var):
    return np.asarray(vae.kl_divergence(np.asarray(mu, "float64"), np.asarray(log_var, "float64")))


def _check_kl(kl_divergence):
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(5, 3)).astype("float32")
    log_var = rng.normal(scale=0.7, size=(5, 3)).astype("float32")
    got = as_numbers(call_answer(kl_divergence, mu, log_var), "the KL")
    want = _kl_reference(mu, log_var)
    if got.shape != want.shape:
        if got.size == 1:
            raise Incorrect(f"return one KL per example, shape {want.shape}: sum over latent dimensions only, "
                            "not over the batch")
        raise Incorrect(f"expected shape {want.shape} (one value per example), got {got.shape}")
    if np.allclose(got, -want, rtol=1e-4, atol=1e-5):
        raise Incorrect("the sign is flipped: KL is never negative. KL = 0.5 * sum(exp(lv) + mu^2 - 1 - lv)")
    if np.allclose(got, 2 * want, rtol=1e-4, atol=1e-5):
        raise Incorrect("twice the right value: the closed form has a factor 1/2 in front")
    if np.allclose(got, want / 3, rtol=1e-4, atol=1e-5):
        raise Incorrect("you averaged over the latent dimensions; the KL of a diagonal Gaussian SUMS over them")
    alt = 0.5 * np.sum(log_var + mu**2 - 1.0 - np.log(np.abs(log_var) + 1e-12), axis=-1)
    if np.allclose(got, alt, rtol=1e-3):
        raise Incorrect("log_var is the LOG-variance: the variance is exp(log_var)")
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        raise Incorrect(f"values differ from 0.5 * sum(exp(lv) + mu^2 - 1 - lv): got {got.round(4)}, "
                        f"expected {want.round(4)}")
    zeros = np.zeros((2, 4), "float32")
    zero = as_numbers(call_answer(kl_divergence, zeros, zeros), "the KL")
    if not np.allclose(zero, 0.0, atol=1e-6):
        raise Incorrect("KL(N(0, I) || N(0, I)) must be 0")
    return "Right: 0.5 * sum(sigma^2 + mu^2 - 1 - log sigma^2), zero only at the prior."


q1 = Exercise(
    "Drill 1: closed-form KL of a diagonal Gaussian from N(0, I)",
    _check_kl,
    hint="For one dimension KL(N(mu, s^2) || N(0,1)) = 0.5 (s^2 + mu^2 - 1 - log s^2). With log_var = log s^2, "
         "sum that over the latent axis (axis=-1).",
)


# ---------------------------------------------------------------- q2: non-saturating generator loss
def _check_ns_loss(generator_loss):
    logits = np.array([-8.0, -2.0, 0.0, 1.5, 6.0], dtype="float32")
    got = as_numbers(call_answer(generator_loss, logits), "the loss")
    want = float(gan.generator_loss(logits))  # -log sigmoid(l), the course's loss
    if got.size != 1:
        raise Incorrect(f"return one number (the mean over the batch), got shape {got.shape}")
    got = float(got.reshape(()))
    saturating = float(np.mean(-softplus(logits)))  # mean log(1 - sigmoid(l)), the minimax term
    if np.isclose(got, saturating, rtol=1e-4):
        raise Incorrect("that is the saturating minimax loss log(1 - D(G(z))): its gradient vanishes when D "
                        "confidently rejects the fakes (early in training). Minimise -log D(G(z)) instead")
    if np.isclose(got, -saturating, rtol=1e-4):
        raise Incorrect("that is -log(1 - D(G(z))), the discriminator's term for fakes (labels 0): the generator "
                        "wants D to say 1 on its fakes")
    if np.isclose(got, -want, rtol=1e-4):
        raise Incorrect("the sign is flipped: the loss -log D(G(z)) is non-negative and falls as D is fooled")
    probs_as_logits = float(np.mean(softplus(-1.0 / (1.0 + np.exp(-logits)))))
    if np.isclose(got, probs_as_logits, rtol=1e-4):
        raise Incorrect("you applied a sigmoid before a loss that expects logits (a double sigmoid)")
    if not np.isclose(got, want, rtol=1e-4, atol=1e-6):
        raise Incorrect(f"expected mean(-log sigmoid(logits)) = {want:.4f}, got {got:.4f}")
    big = as_numbers(call_answer(generator_loss, np.array([-100.0], "float32")), "the loss")
    big = float(big.reshape(-1)[0])
    if not np.isfinite(big) or abs(big - 100.0) > 1e-2:
        raise Incorrect(f"for a logit of -100 the loss must be about 100 and finite, got {big}: compute it from "
                        "logits (softplus(-l) or BCE with from_logits=True), not log(sigmoid(l))")
    return "Right: mean softplus(-logits) = BCE(labels=1, from_logits=True); strong gradients when D wins."


q2 = Exercise(
    "Drill 2: the non-saturating generator loss from logits",
    _check_ns_loss,
    hint="The generator wants D(G(z)) = sigmoid(logit) to be 1: minimise -log sigmoid(logit) = softplus(-logit), "
         "averaged over the batch. Work from logits for numerical stability.",
)


# ---------------------------------------------------------------- q3: transposed-convolution output size
def _check_convt(conv_transpose_output_size):
    cases = [(7, 4, 2, "same"), (7, 5, 2, "same"), (14, 3, 1, "same"), (7, 4, 2, "valid"),
             (7, 3, 2, "valid"), (1, 4, 1, "valid"), (4, 5, 3, "valid"), (16, 4, 2, "same"),
             (7, 2, 3, "valid")]  # the last has kernel < stride
    for size, kernel, stride, padding in cases:
        got = call_answer(conv_transpose_output_size, size, kernel, stride, padding)
        want = fx.convt_size(size, kernel, stride, padding)
        got_int = as_scalar(got, "the size")
        if got_int != int(got_int):
            raise Incorrect(f"return a whole number of pixels, got {got!r}")
        got_int = int(got_int)
        if got_int != want:
            conv = (size + 2 * 0 - kernel) // stride + 1 if padding == "valid" else -(-size // stride)
            old_rule = padding == "valid" and got_int == (size - 1) * stride + kernel
            extra = (" That is the formula of an ordinary (downsampling) convolution."
                     if got_int == conv else
                     " (size - 1) * stride + kernel holds only when kernel >= stride."
                     if old_rule else "")
            raise Incorrect(f"size={size}, kernel={kernel}, stride={stride}, padding={padding!r}: "
                            f"expected {want}, got {got_int}.{extra}")
    return ("Right: 'same' gives size*stride, 'valid' gives size*stride + max(kernel - stride, 0) "
            "(Keras, no output_padding).")


q3 = Exercise(
    "Drill 3: output size of a Keras Conv2DTranspose",
    _check_convt,
    hint="A transposed convolution undoes the size arithmetic of a convolution. In Keras with "
         "output_padding=None: padding='same' -> size * stride; padding='valid' -> size * stride + "
         "max(kernel - stride, 0), which is (size - 1) * stride + kernel when kernel >= stride.",
)


# ---------------------------------------------------------------- q4: Frechet distance
def _check_frechet(frechet_distance):
    rng = np.random.default_rng(3)
    d = 4
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = fx.random_cov(rng, d), fx.random_cov(rng, d)
    got = call_answer(frechet_distance, mu1, s1, mu2, s2)
    got = as_scalar(np.real(got) if np.iscomplexobj(got) else got, "the distance")
    want = metrics.frechet_distance(mu1, s1, mu2, s2)
    mean_term = float(np.sum((mu1 - mu2) ** 2))
    if np.isclose(got, mean_term, rtol=1e-4):
        raise Incorrect("only the mean term: add Tr(S1 + S2 - 2 (S1 S2)^(1/2))")
    elementwise = mean_term + float(np.trace(s1 + s2 - 2.0 * np.sqrt(np.abs(s1 * s2))))
    if np.isclose(got, elementwise, rtol=1e-4):
        raise Incorrect("(S1 S2)^(1/2) is a MATRIX square root of the matrix product (scipy.linalg.sqrtm), "
                        "not an element-wise sqrt")
    from scipy import linalg

    no_two = mean_term + float(np.trace(s1 + s2 - np.real(linalg.sqrtm(s1 @ s2))))
    if np.isclose(got, no_two, rtol=1e-4):
        raise Incorrect("the cross term has a factor 2: Tr(S1 + S2 - 2 sqrtm(S1 S2))")
    if np.isclose(got, np.sqrt(max(want, 0.0)), rtol=1e-4):
        raise Incorrect("FID is the SQUARED Frechet distance (no square root at the end)")
    if not np.isclose(got, want, rtol=1e-4, atol=1e-6):
        raise Incorrect(f"expected {want:.5f}, got {got:.5f}")
    same = float(np.real(as_array(call_answer(frechet_distance, mu1, s1, mu1, s1))).reshape(()))
    if abs(same) > 1e-5:
        raise Incorrect(f"the distance between identical Gaussians must be 0, got {same:.2e}")
    return "Right: ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)) — what FID computes on classifier features."


q4 = Exercise(
    "Drill 4: the Frechet distance between two Gaussians (the heart of FID)",
    _check_frechet,
    hint="d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)); use scipy.linalg.sqrtm for the matrix square "
         "root and keep its real part (round-off can add tiny imaginary parts).",
)


# ---------------------------------------------------------------- q5: reparameterised sample
def _check_reparam(reparameterize):
    import tensorflow as tf

    rng = np.random.default_rng(5)
    mu = rng.normal(size=(4, 3)).astype("float32")
    log_var = rng.normal(size=(4, 3)).astype("float32")
    eps = rng.normal(size=(4, 3)).astype("float32")
    got = as_numbers(call_answer(reparameterize, mu, log_var, eps), "the sample")
    want = mu + np.exp(0.5 * log_var) * eps
    if got.shape != want.shape:
        raise Incorrect(f"expected shape {want.shape}, got {got.shape}")
    if np.allclose(got, mu + np.exp(log_var) * eps, rtol=1e-4):
        raise Incorrect("exp(log_var) is the variance; the standard deviation is exp(0.5 * log_var)")
    if np.allclose(got, mu + log_var * eps, rtol=1e-4):
        raise Incorrect("log_var is a log-variance: scale eps by exp(0.5 * log_var)")
    if np.allclose(got, mu + np.sqrt(np.abs(log_var)) * eps, rtol=1e-4):
        raise Incorrect("sqrt(log_var) is not the standard deviation; use exp(0.5 * log_var)")
    if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
        raise Incorrect("values differ from mu + exp(0.5 * log_var) * eps (use the eps you are given)")
    mu_t, lv_t = tf.constant(mu), tf.constant(log_var)
    with tf.GradientTape() as tape:
        tape.watch([mu_t, lv_t])
        out = call_answer(reparameterize, mu_t, lv_t, tf.constant(eps))
        if not tf.is_tensor(out):
            raise Incorrect("with tensor inputs, return a tensor (use keras.ops/tf ops, not NumPy) so gradients flow")
        total = tf.reduce_sum(out)
    g_mu, g_lv = tape.gradient(total, [mu_t, lv_t])
    if g_mu is None or g_lv is None:
        raise Incorrect("no gradient flows to mu or log_var: build the sample from them with differentiable ops")
    if not np.allclose(g_lv.numpy(), 0.5 * np.exp(0.5 * log_var) * eps, rtol=1e-3, atol=1e-5):
        raise Incorrect("the gradient with respect to log_var is wrong")
    return "Right: the randomness sits in eps, so gradients reach mu and log_var."


q5 = Exercise(
    "Drill 5: a reparameterised sample (differentiable in mu and log_var)",
    _check_reparam,
    hint="z = mu + sigma * eps with sigma = exp(0.5 * log_var). Use keras.ops.exp so it works on NumPy arrays "
         "and tensors alike.",
)


# ---------------------------------------------------------------- q6: JS divergence
def _js_reference(p, q):
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a, b):
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / b[mask])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def _check_js(js_divergence):
    p = np.array([0.1, 0.4, 0.5, 0.0])
    q = np.array([0.3, 0.3, 0.2, 0.2])
    got = call_answer(js_divergence, p, q)
    try:
        got = float(np.asarray(got).reshape(()))
    except Exception as err:
        raise Incorrect(f"return one number, got {got!r}") from err
    want = _js_reference(p, q)
    if not np.isfinite(got):
        raise Incorrect("got a non-finite value: terms with p_i = 0 contribute 0 (0 log 0 = 0)")
    if np.isclose(got, want / np.log(2), rtol=1e-4):
        raise Incorrect("that is in bits (log base 2); use natural logs (nats), so the maximum is log 2")
    if np.isclose(got, 2 * want, rtol=1e-4):
        raise Incorrect("JS = 0.5 KL(p||m) + 0.5 KL(q||m): you forgot the halves")
    if not np.isclose(got, want, rtol=1e-4, atol=1e-7):
        raise Incorrect(f"expected {want:.5f} nats, got {got:.5f}; m = (p + q) / 2 is the mixture")
    disjoint = float(as_array(call_answer(js_divergence, np.array([0.5, 0.5, 0, 0]),
                                            np.array([0, 0, 0.5, 0.5]))).reshape(()))
    if not np.isclose(disjoint, np.log(2), rtol=1e-4):
        raise Incorrect(f"for distributions with disjoint supports JS must be log 2 = 0.6931, got {disjoint:.4f}")
    return ("Right. Note JS = log 2 for ANY pair of disjoint supports, however far apart: that flatness is why the "
            "original GAN objective gives no useful signal there, and why Wasserstein distances were proposed.")


q6 = Exercise(
    "Drill 6: Jensen-Shannon divergence of two discrete distributions (nats)",
    _check_js,
    hint="m = (p + q) / 2; JS = 0.5 * KL(p || m) + 0.5 * KL(q || m); KL(a || b) = sum a_i log(a_i / b_i) over "
         "a_i > 0. Natural log.",
)


# ---------------------------------------------------------------- q7: the sampling function (bug)
def _check_sample_z(sample_z):
    import inspect

    try:
        params = [p for p in inspect.signature(sample_z).parameters.values()
                  if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) == 2:
        raise Incorrect("it still takes two arguments: a Keras layer applied to [z_mean, z_log_var] passes ONE "
                        "argument, the list. Unpack it inside: z_mean, z_log_var = inputs")
    rng = np.random.default_rng(7)
    n = 20000
    mean = np.tile(np.array([[2.0, -1.0]], "float32"), (n, 1))
    log_var = np.tile(np.array([[np.log(0.25), np.log(4.0)]], "float32"), (n, 1))
    del rng
    first = as_numbers(call_answer(sample_z, [mean, log_var]), "the sample")
    if first.shape != mean.shape:
        raise Incorrect(f"expected shape {mean.shape} (batch, latent_dim) — the batch size must come from the "
                        f"input (keras.ops.shape), not be fixed; got {first.shape}")
    m, s = first.mean(axis=0), first.std(axis=0)
    if np.any(np.abs(m - [2.0, -1.0]) > 5 * s / np.sqrt(n) + 1e-3):
        raise Incorrect(f"sample means {m.round(3)} should be z_mean = [2, -1]")
    if np.allclose(s, [0.25, 4.0], rtol=0.05):
        raise Incorrect("the spread is exp(z_log_var), the variance: the standard deviation is exp(0.5 * z_log_var)")
    if not np.allclose(s, [0.5, 2.0], rtol=0.05):
        raise Incorrect(f"sample standard deviations {s.round(3)} should be exp(0.5 * z_log_var) = [0.5, 2]")
    second = as_numbers(call_answer(sample_z, [mean, log_var]), "the sample")
    if np.allclose(first, second):
        raise Incorrect("two calls returned the same 'random' numbers: a fixed integer seed in keras.random.normal "
                        "is stateless. Create a keras.random.SeedGenerator once (outside) and pass it as seed")
    return "Right: one list argument, keras.ops instead of the Keras 2 backend `K`, std = exp(0.5 log var)."


q7 = Exercise(
    "Bug 1: the VAE's sampling function",
    _check_sample_z,
    hint="Three things: (1) the layer passes one argument, a list; (2) `K` (keras.backend) is not Keras 3 — use "
         "keras.ops and keras.random; (3) draw from a SeedGenerator created once, so each call differs.",
)


# ---------------------------------------------------------------- q8: the VAE loss (bug: no KL)
def _vae_reference(x, logits, mu, log_var):
    """The course's -ELBO (utils.vae), with its reconstruction and KL terms, batch means."""
    x, logits = np.asarray(x, "float64"), np.asarray(logits, "float64")
    recon = np.asarray(vae.bernoulli_reconstruction(x, logits))
    kl = _kl_reference(mu, log_var)
    return float(np.mean(recon + kl)), float(np.mean(recon)), float(np.mean(kl))


def _check_vae_loss(vae_loss):
    rng = np.random.default_rng(8)
    x = (rng.random((3, 4, 4, 1)) < 0.4).astype("float32")
    logits = rng.normal(scale=2.0, size=(3, 4, 4, 1)).astype("float32")
    mu = rng.normal(size=(3, 2)).astype("float32")
    log_var = rng.normal(scale=0.5, size=(3, 2)).astype("float32")
    got = as_scalar(call_answer(vae_loss, x, logits, mu, log_var),
                    "the loss (one number, the batch mean of the negative ELBO)")
    want, recon, kl = _vae_reference(x, logits, mu, log_var)
    if np.isclose(got, recon, rtol=1e-4):
        raise Incorrect("only the reconstruction term: without the KL term this is a plain autoencoder — the "
                        "article's mistake. Add KL(q(z|x) || N(0, I)) per example")
    if np.isclose(got, recon - kl, rtol=1e-4):
        raise Incorrect("the KL term is subtracted: the loss is the NEGATIVE ELBO = reconstruction + KL")
    n_pix = 16
    if np.isclose(got, recon / n_pix + kl, rtol=1e-4):
        raise Incorrect("the reconstruction is averaged over pixels (as keras BCE does) but the KL is summed: the "
                        "KL then dominates ~784x on MNIST. Sum BCE over pixels")
    double = _vae_reference(x, 1.0 / (1.0 + np.exp(-logits)), mu, log_var)[0]
    if np.isclose(got, double, rtol=1e-4):
        raise Incorrect("you applied a sigmoid to logits and then used from_logits=True (a double sigmoid)")
    if not np.isclose(got, want, rtol=1e-4, atol=1e-5):
        raise Incorrect(f"expected {want:.4f} (reconstruction {recon:.4f} + KL {kl:.4f}), got {got:.4f}")
    return "Right: summed Bernoulli cross-entropy from logits + closed-form KL, averaged over the batch."


q8 = Exercise(
    "Bug 2: the VAE loss that forgot the KL term",
    _check_vae_loss,
    hint="Per example: sum over pixels of sigmoid cross-entropy from logits, plus 0.5 * sum(exp(lv) + mu^2 - 1 - lv). "
         "Return the mean over the batch.",
)


# ---------------------------------------------------------------- q9 / q10: generator shapes (bug)
def _check_generator_model(model, latent_dim, shape, what):
    import keras

    if not isinstance(model, keras.Model):
        raise Incorrect(f"return a keras.Model, got {describe(model)}")
    names = [type(layer).__name__ for layer in fx.all_layers(model)]
    if "Lambda" in names:
        raise Incorrect("remove the Lambda layer: the article's `denoise_gan` is undefined, and Lambda layers do not "
                        "reload from .keras files in safe mode")
    in_shape = tuple(model.inputs[0].shape)[1:]
    if in_shape != (latent_dim,):
        raise Incorrect(f"the input should be a latent vector of shape ({latent_dim},), got {in_shape}")
    z = np.random.default_rng(0).normal(size=(2, latent_dim)).astype("float32")
    out = fx.call_model(model, z, "generator")
    if out.shape[1:] != shape:
        raise Incorrect(f"{what} must be {shape}, got {out.shape[1:]}")
    big = fx.call_model(model, 100.0 * z, "generator")
    if big.min() < -1.0001 or big.max() > 1.0001:
        raise Incorrect("outputs leave [-1, 1]: end with a tanh activation to match images scaled to [-1, 1]")
    return names


def _check_mnist_generator(build_generator):
    model = call_answer(build_generator, 100)
    names = _check_generator_model(model, 100, (28, 28, 1), "the image shape for the 28x28x1 discriminator")
    if "Conv2DTranspose" not in names and "UpSampling2D" not in names:
        raise Incorrect("the shape is right, but nothing upsamples: the bug is that 7x7 features "
                        "cannot be reshaped into 28x28x1. Keep the 7x7 start and upsample 7 -> 14 "
                        "-> 28 with Conv2DTranspose(..., strides=2, padding='same') (or "
                        "UpSampling2D + Conv2D)")
    return "Right: 100-d noise -> 7x7 features -> 28x28x1 in [-1, 1], no Lambda."


q9 = Exercise(
    "Bug 3: the article's GAN generator cannot produce a 28x28x1 image",
    _check_mnist_generator,
    hint="7*7*128 = 6272 numbers cannot be reshaped to 28*28*1 = 784. Upsample instead: Dense(7*7*128) -> Reshape "
         "-> Conv2DTranspose(64, 4, strides=2, padding='same') -> Conv2DTranspose(1, 4, strides=2, padding='same', "
         "activation='tanh').",
)


def _check_face_generator(build_face_generator):
    model = call_answer(build_face_generator, 100)
    _check_generator_model(model, 100, (64, 64, 3), "the face image shape")
    return "Right: every stage doubles the size exactly (padding='same'), ending at 64x64x3 in [-1, 1]."


q10 = Exercise(
    "Bug 4: the face generator's sizes run away",
    _check_face_generator,
    hint="Each UpSampling2D doubles the size but each 3x3 'valid' Conv2D then removes 2 pixels, and six doublings "
         "from 7 overshoot anyway. Start from 4x4 (or 8x8), use padding='same', double exactly 4 (or 3) times to "
         "reach 64, and end with 3 channels and tanh.",
)


# ---------------------------------------------------------------- q11: the GAN training step (bug)
def _check_train_step(train_step):
    # 4-number "images": the drill is about the step, not the networks
    setup = fx.gan_setup(latent_dim=3, shape=(4,), given_z=True)
    fx.grade_step(fx.run_step_given_z(train_step, setup), setup,
                  rerun=lambda: fx.run_step_given_z(train_step, setup))
    return "Right: both networks train, each with its own tape, loss and optimizer."


q11 = Exercise(
    "Bug 5: a GAN training step in which one network never learns",
    _check_train_step,
    hint="Look at where `fake` is computed for the generator update, which labels its loss uses, and which "
         "variables the gradient is taken with respect to.",
)

DRILLS = [q1, q2, q3, q4, q5, q6]
BUGS = [q7, q8, q9, q10, q11]


# ---------------------------------------------------------------- q12: drill 7, q(x_t | x_0)
# The diffusion drill (chapter 10's forward process). Kept out of DRILLS, which lists drills 1-6 only.
def _closed_form_pair(value, steps):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise Incorrect(f"return a pair (mean_coef, std) of arrays of shape ({steps},), got "
                        f"{describe(value)}")
    mean, std = (as_numbers(v, name, finite=True) for v, name in zip(value, ("mean_coef", "std")))
    if mean.shape != (steps,) or std.shape != (steps,):
        raise Incorrect(f"for {steps} betas expected two arrays of shape ({steps},), got "
                        f"{mean.shape} and {std.shape}: one value per step t")
    return mean, std


def _check_closed_form(fn):
    betas = np.linspace(1e-3, 0.2, 100)
    mean, std = _closed_form_pair(call_answer(fn, betas.copy()), len(betas))
    ab = np.cumprod(1 - betas)

    def close(a, b):
        return np.allclose(a, b, rtol=1e-4, atol=1e-4)

    if close(mean, np.sqrt(ab)) and close(std, np.sqrt(1 - ab)):
        return (f"sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t): after 100 steps "
                f"{np.sqrt(ab[-1]):.4f} of x_0 is left and the noise has std "
                f"{np.sqrt(1 - ab[-1]):.4f}.")
    mistakes = [
        (close(mean, np.sqrt(1 - betas)), "mean_coef is sqrt(alpha_t) = sqrt(1 - beta_t), one "
         "step's factor: x_t after t steps keeps the *product* alpha_1 ... alpha_t (np.cumprod)"),
        (close(mean, ab) or close(std, 1 - ab), "you returned alpha_bar_t or 1 - alpha_bar_t, "
         "which are the mean factor squared and the variance; take square roots"),
        (close(mean, np.sqrt(np.clip(1 - np.cumsum(betas), 0, None))), "the betas were summed; "
         "the signal factors multiply: alpha_bar_t = prod(1 - beta_s)"),
        (close(mean, np.sqrt(np.concatenate([[1.0], ab[:-1]]))), "off by one: alpha_bar for the "
         "first step is already 1 - beta_1 (np.cumprod, not an exclusive product starting at 1)"),
        (close(mean, np.sqrt(ab)) and close(std, np.sqrt(np.cumsum(betas))), "std is sqrt(sum of "
         "betas): the shrinking of earlier noise by later steps is missing; the variance is "
         "1 - alpha_bar_t"),
        (close(mean, np.sqrt(ab)), "mean_coef is right; std should be sqrt(1 - alpha_bar_t), yours "
         f"differs by up to {np.abs(std - np.sqrt(1 - ab)).max():.3g}"),
    ]
    for found, message in mistakes:
        if found:
            raise Incorrect(message)
    raise Incorrect("mean_coef should be sqrt(alpha_bar_t) = sqrt(prod(1 - beta_s)); yours differs "
                    f"by up to {np.abs(mean - np.sqrt(ab)).max():.3g}")


q12 = Exercise(
    "Drill 7: the closed form of q(x_t | x_0)",
    _check_closed_form,
    hint="alpha_bar_t = prod over s <= t of (1 - beta_s) (np.cumprod); x_t = sqrt(alpha_bar_t) x_0"
         " + sqrt(1 - alpha_bar_t) eps, so return np.sqrt(alpha_bar) and np.sqrt(1 - alpha_bar).",
)

DERIVATIONS = DRILLS + [q12]  # drills 1-7, in the notebook's order
GRADED = DERIVATIONS + BUGS  # what the notebook's scorecard grades, in order
