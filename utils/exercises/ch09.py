"""Checkers for chapter 09 (applications and scaling out).

q1 label agreement (does the conditional GAN draw the digit asked for?), q2 masked reconstruction loss for
inpainting, q3 PSNR for enhancement, q4 loss scaling under tf.distribute.
"""

from __future__ import annotations

import numpy as np

from .fixtures import as_scalar as _scalar
from .framework import Exercise, Incorrect, call_answer


# ---------------------------------------------------------------- q1: label agreement
def _check_agreement(label_agreement):
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8]])
    requested = np.array([0, 2, 2, 1, 2])
    got = _scalar(call_answer(label_agreement, probs, requested), "the agreement")
    if np.isclose(got, 3.0):
        raise Incorrect("return a fraction between 0 and 1 (the mean), not a count")
    if np.isclose(got, float(np.mean(probs[np.arange(5), requested]))):
        raise Incorrect("that is the mean probability of the requested class; count the samples whose MOST "
                        "probable class (argmax over axis 1) equals the requested label")
    if not np.isclose(got, 0.6):
        raise Incorrect(f"expected 0.6 (3 of 5 samples classified as requested), got {got}")
    perfect = _scalar(call_answer(label_agreement, np.eye(4), np.arange(4)), "the agreement")
    if not np.isclose(perfect, 1.0):
        raise Incorrect(f"identity probabilities with labels 0..3 must agree perfectly (1.0), got {perfect}")
    return "Right: mean(argmax(probs, axis=1) == requested)."


q1 = Exercise(
    "Label agreement of a conditional generator",
    _check_agreement,
    hint="The classifier's guess for each sample is np.argmax(probs, axis=1); compare it with the requested labels "
         "and take the mean of the matches.",
)


# ---------------------------------------------------------------- q2: masked reconstruction loss
def _check_masked_mse(masked_mse):
    rng = np.random.default_rng(2)
    x = rng.random((2, 6, 6, 1)).astype("float32")
    x_hat = rng.random((2, 6, 6, 1)).astype("float32")
    mask = np.ones((2, 6, 6, 1), "float32")
    mask[:, 2:5, 1:4] = 0.0  # the hole: 9 unknown pixels per image
    got = _scalar(call_answer(masked_mse, x, x_hat, mask), "the loss")
    sq = (x - x_hat) ** 2
    want = float(np.sum(mask * sq) / np.sum(mask))
    if np.isclose(got, float(np.mean(sq)), rtol=1e-4):
        raise Incorrect("you compare all pixels, including the hole: the true pixels there are unknown when "
                        "inpainting, so multiply the squared error by the mask")
    if np.isclose(got, float(np.sum((1 - mask) * sq) / np.sum(1 - mask)), rtol=1e-4):
        raise Incorrect("the mask is inverted: mask = 1 marks OBSERVED pixels, and only those can be compared")
    if np.isclose(got, float(np.mean(mask * sq)), rtol=1e-4):
        raise Incorrect("divide by the number of observed pixels (sum of the mask), not by all pixels, so the loss "
                        "does not shrink as the hole grows")
    if not np.isclose(got, want, rtol=1e-4, atol=1e-7):
        raise Incorrect(f"expected sum(mask * (x - x_hat)^2) / sum(mask) = {want:.5f}, got {got:.5f}")
    import tensorflow as tf

    x_hat_t = tf.Variable(x_hat)
    with tf.GradientTape() as tape:
        loss = call_answer(masked_mse, tf.constant(x), x_hat_t, tf.constant(mask))
    if not tf.is_tensor(loss):
        raise Incorrect("with tensor inputs it must return a tensor so the gradient can flow to x_hat: use "
                        "keras.ops or tf, not NumPy")
    grad = tape.gradient(loss, x_hat_t)
    if grad is None:
        raise Incorrect("no gradient flows to x_hat with tensor inputs: use tf / keras.ops, not NumPy")
    if np.any(np.abs(np.asarray(grad)[mask == 0]) > 0):
        raise Incorrect("pixels inside the hole receive gradient")
    return "Right: only observed pixels count, averaged over how many there are."


q2 = Exercise(
    "Masked reconstruction loss for inpainting",
    _check_masked_mse,
    hint="mask is 1 on observed pixels and 0 in the hole. Loss = sum(mask * (x - x_hat)^2) / sum(mask). Use "
         "keras.ops or tf so it works on tensors and gradients flow to x_hat.",
)


# ---------------------------------------------------------------- q3: PSNR
def _psnr_reference(a, b, max_value):
    mse = np.mean((a - b) ** 2, axis=tuple(range(1, a.ndim)))
    return float(np.mean(10.0 * np.log10(max_value**2 / mse)))


def _check_psnr(psnr):
    rng = np.random.default_rng(3)
    a = rng.random((3, 8, 8, 1))
    noise = np.array([0.02, 0.1, 0.3])[:, None, None, None]
    b = np.clip(a + noise * rng.standard_normal(a.shape), 0, 1)
    got = _scalar(call_answer(psnr, a, b, 1.0), "the PSNR")
    want = _psnr_reference(a, b, 1.0)
    mse_all = float(np.mean((a - b) ** 2))
    if np.isclose(got, 10 * np.log10(1.0 / mse_all), rtol=1e-4):
        raise Incorrect("that is the PSNR of the pooled MSE over the whole batch; compute one PSNR per image "
                        "(MSE over its pixels) and average those")
    per_image_mse = np.mean((a - b) ** 2, axis=(1, 2, 3))
    if np.isclose(got, float(np.mean(20 * np.log10(1.0 / per_image_mse))), rtol=1e-4):
        raise Incorrect("use 10*log10(MAX^2 / MSE) (or 20*log10(MAX / sqrt(MSE))); 20*log10(1/MSE) double counts")
    if np.isclose(got, -want, rtol=1e-4):
        raise Incorrect("the sign is flipped: higher PSNR means closer images")
    if not np.isclose(got, want, rtol=1e-4):
        raise Incorrect(f"expected {want:.3f} dB, got {got:.3f}")
    got255 = _scalar(call_answer(psnr, 255 * a, 255 * b, 255.0), "the PSNR")
    if not np.isclose(got255, want, rtol=1e-4):
        raise Incorrect("the same images scaled to 0..255 with max_value=255 must give the same PSNR: use max_value")
    return "Right: mean over images of 10 log10(MAX^2 / MSE)."


q3 = Exercise(
    "PSNR, the standard enhancement score",
    _check_psnr,
    hint="Per image: MSE over its pixels, PSNR = 10 * log10(max_value**2 / MSE) in dB. Return the mean over images.",
)


# ---------------------------------------------------------------- q4: loss scaling under tf.distribute
def _check_scaled_loss(replica_loss):
    per_example = np.array([0.5, 1.0, 2.0, 0.5], "float32")  # this replica's slice of a global batch of 8
    got = _scalar(call_answer(replica_loss, per_example, 8), "the loss")
    if np.isclose(got, float(per_example.mean())):
        raise Incorrect("that is the mean over THIS replica's examples: MirroredStrategy sums the replicas' "
                        "gradients, so with 2 replicas your gradient would be twice too large. Divide the sum by "
                        "the GLOBAL batch size")
    if np.isclose(got, float(per_example.sum())):
        raise Incorrect("divide the sum by the global batch size")
    if not np.isclose(got, 0.5):
        raise Incorrect(f"expected sum / global batch = 4.0 / 8 = 0.5, got {got}")
    two = [_scalar(call_answer(replica_loss, part, 8), "the loss") for part in (per_example, per_example[::-1] * 2)]
    whole = np.concatenate([per_example, per_example[::-1] * 2]).mean()
    if not np.isclose(sum(two), whole):
        raise Incorrect("the replicas' losses must sum to the mean over the whole global batch")
    return "Right: sum / global batch, what tf.nn.compute_average_loss does; the replicas' values add up to the mean."


q4 = Exercise(
    "Scaling the loss on one replica",
    _check_scaled_loss,
    hint="Each replica sees global_batch_size / num_replicas examples and the gradients are SUMMED across "
         "replicas. Return sum(per_example_losses) / global_batch_size.",
)

EXERCISES = [q1, q2, q3, q4]
