"""Checkers for chapter 03 (DCGAN): `from utils.exercises import ch03 as ex`, then `ex.q1.check(convt_output_size)`.

q1 transposed-convolution output size, q2 DCGAN generator, q3 debug the article: the DCGAN discriminator,
q4 a GAN `train_step` for `fit()` with the R1 penalty,
q5 debug the article: the frozen-discriminator recipe under Keras 3.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .framework import Exercise, Incorrect, call_answer
from .ch02 import (
    RecordingAdam,
    check_generator,
    check_logit_discriminator,
    check_logs,
    check_step_effects,
    max_change,
    real_batch,
    tiny_discriminator,
    tiny_generator,
    weights_snapshot,
)

_CASES = [(7, 4, 2, "same"), (7, 5, 2, "same"), (14, 4, 2, "same"), (7, 5, 1, "same"), (7, 3, 1, "valid"),
          (7, 4, 2, "valid"), (3, 3, 3, "valid"), (14, 5, 2, "valid"), (1, 7, 1, "valid"), (4, 4, 1, "same")]


def _keras_size(size, kernel, stride, padding):
    layer = keras.layers.Conv2DTranspose(1, kernel, strides=stride, padding=padding)
    return int(layer.compute_output_shape((None, size, size, 1))[1])


# ----------------------------------------------------------------------------------------------- q1
def _check_convt_size(fn):
    for size, kernel, stride, padding in _CASES:
        got = call_answer(fn, size, kernel, stride, padding)
        want = _keras_size(size, kernel, stride, padding)
        if got != want:
            hint = ""
            if padding == "valid" and got == (size - kernel) // stride + 1:
                hint = " (that is the formula of an ordinary convolution; a transposed one runs it backwards)"
            elif padding == "same" and got == size:
                hint = " ('same' multiplies the size by the stride)"
            raise Incorrect(f"size={size}, kernel={kernel}, stride={stride}, padding={padding!r}: Keras gives {want}, "
                            f"you give {got}{hint}")
    return "Right: 'same' gives size*stride, 'valid' gives (size-1)*stride + kernel. 7 -> 14 -> 28 with stride 2."


q1 = Exercise(
    "Output size of a transposed convolution",
    _check_convt_size,
    hint="A transposed convolution undoes the size change of a convolution: valid conv n -> (n-k)//s + 1, so "
         "valid transposed conv n -> (n-1)*s + k; 'same' gives n*s.",
)


# ----------------------------------------------------------------------------------------------- q2
def _layers(model):
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found += _layers(layer)
    return found


def _check_dcgan_generator(build):
    model = check_generator(build, latent_dims=(100, 32))
    layers = _layers(model)
    convt = [la for la in layers if isinstance(la, keras.layers.Conv2DTranspose)]
    if not convt:
        raise Incorrect("no Conv2DTranspose layer: a DCGAN generator upsamples with strided transposed convolutions")
    if not any(max(la.strides) >= 2 for la in convt):
        raise Incorrect("no transposed convolution has stride 2: nothing upsamples 7x7 to 28x28 with learned filters")
    if not any(isinstance(la, keras.layers.BatchNormalization) for la in layers):
        raise Incorrect("no BatchNormalization: DCGAN generators normalise after the Dense and hidden ConvT layers")
    if model.count_params() > 3_000_000:
        raise Incorrect(f"{model.count_params():,} parameters is a lot for 28x28 digits on a CPU; aim below 1M")
    # BN in training mode must work on a batch (the fakes D sees come from training mode)
    z = np.random.default_rng(0).standard_normal((8, int(model.inputs[0].shape[-1]))).astype("float32")
    out = np.asarray(model(z, training=True))
    if not np.all(np.isfinite(out)):
        raise Incorrect("the output in training mode is not finite")
    return f"A DCGAN generator with {model.count_params():,} parameters: 7x7 -> 14x14 -> 28x28 in [-1, 1]."


q2 = Exercise(
    "Build the DCGAN generator",
    _check_dcgan_generator,
    hint="Dense(7*7*64, use_bias=False), BN, ReLU, Reshape((7, 7, 64)); Conv2DTranspose(32, 4, strides=2, "
         "padding='same'), BN, ReLU; Conv2DTranspose(1, 4, strides=2, padding='same', activation='tanh').",
)


# ----------------------------------------------------------------------------------------------- q3
def _check_dcgan_discriminator(build):
    model = check_logit_discriminator(build)
    layers = _layers(model)
    pools = [la for la in layers if isinstance(la, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D))]
    if pools:
        raise Incorrect("the discriminator uses pooling: DCGAN downsamples with strided convolutions, which learn "
                        "how to downsample and keep gradients flowing to every pixel")
    convs = [la for la in layers if type(la) is keras.layers.Conv2D]
    if not convs or not any(max(la.strides) >= 2 for la in convs):
        raise Incorrect("use Conv2D layers with strides=2 to go 28 -> 14 -> 7")
    first = layers.index(convs[0])
    following = layers[first + 1:first + 3]
    if any(isinstance(la, keras.layers.BatchNormalization) for la in following):
        raise Incorrect("batch norm right after the first convolution: DCGAN leaves the discriminator's input "
                        "layer unnormalised (it destabilises training)")
    for la in layers:
        if isinstance(la, keras.layers.LeakyReLU) and la.negative_slope < 0.1:
            raise Incorrect(f"LeakyReLU slope {la.negative_slope}: that is almost a ReLU; DCGAN uses 0.2 so the "
                            "generator gets gradient through negative activations too")
    return f"A DCGAN discriminator with {model.count_params():,} parameters and a logit output."


q3 = Exercise(
    "Debug the article: repair the DCGAN discriminator",
    _check_dcgan_discriminator,
    hint="keras.Input((28, 28, 1)); Conv2D(32, 4, strides=2, padding='same'), LeakyReLU(negative_slope=0.2); "
         "Conv2D(64, ...) likewise; Flatten; Dense(1) with no activation (a logit, no sigmoid).",
)


# ----------------------------------------------------------------------------------------------- q4
def _check_gan_model(gan_class):
    if not (isinstance(gan_class, type) and issubclass(gan_class, keras.Model)):
        raise Incorrect("pass the class itself (a keras.Model subclass), not an instance")
    keras.utils.set_random_seed(0)
    g, d = tiny_generator(8), tiny_discriminator()
    g_opt, d_opt = RecordingAdam(1e-3), RecordingAdam(1e-3)
    model = call_answer(gan_class, g, d, 8)
    call_answer(model.compile, d_optimizer=d_opt, g_optimizer=g_opt)
    data = tf.data.Dataset.from_tensor_slices(real_batch(32)).batch(16)
    history = check_step_effects(g, d, g_opt, d_opt,
                                 lambda: call_answer(model.fit, data, epochs=1, verbose=0, shuffle=False))
    logs = {k: v[-1] for k, v in history.history.items()}
    check_logs(logs)
    _check_r1(gan_class)
    return "fit() trained both networks, each through its own optimiser, with the R1 penalty in D's loss."


def _r1_gradient(d, real):
    """d/dw of R1 = E||grad_x D(x)||^2 at D's current weights (zeros for weights R1 does not depend on)."""
    from .. import gan

    with tf.GradientTape() as tape:
        penalty = gan.r1_penalty(d, real)
    grads = tape.gradient(penalty, d.trainable_weights)
    return np.concatenate([np.zeros(int(np.prod(w.shape))) if g is None else np.ravel(g)
                           for g, w in zip(grads, d.trainable_weights)])


def _check_r1(gan_class):
    """One plain-SGD step with a large r1_gamma: D's update must be about -lr * r1_gamma / 2 * grad R1."""
    lr, gamma = 1e-3, 400.0
    keras.utils.set_random_seed(1)
    g, d = tiny_generator(8), tiny_discriminator()
    real = real_batch(16, seed=1)
    model = call_answer(gan_class, g, d, 8, r1_gamma=gamma)
    call_answer(model.compile, d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(0.0))
    expected = -lr * gamma / 2 * _r1_gradient(d, tf.constant(real))
    before = np.concatenate([np.ravel(w) for w in d.trainable_weights])
    call_answer(model.fit, tf.data.Dataset.from_tensor_slices(real).batch(16), epochs=1, verbose=0, shuffle=False)
    update = np.concatenate([np.ravel(w) for w in d.trainable_weights]) - before
    ratio = float(update @ expected / (expected @ expected))
    if abs(ratio) < 0.2:
        raise Incorrect("with r1_gamma > 0, D's loss (inside its tape) must also include "
                        "self.r1_gamma / 2 * gan.r1_penalty(self.discriminator, real_images)")
    if not 0.8 < ratio < 1.25:
        raise Incorrect(f"the R1 term in D's update is {ratio:.2f} times the expected size: add "
                        "self.r1_gamma / 2 * gan.r1_penalty(...) (note the 1/2) to D's loss once")


q4 = Exercise(
    "A GAN keras.Model with train_step, trained by fit()",
    _check_gan_model,
    hint="In train_step: take the real batch, update D with a tape over discriminator.trainable_variables "
         "(real target 1, fake 0; inside the tape add self.r1_gamma / 2 * gan.r1_penalty(self.discriminator, "
         "real_images) to the loss you differentiate), then G with fresh noise and target 1 over "
         "generator.trainable_variables; update the trackers and return {name: tracker.result()}.",
)


# ----------------------------------------------------------------------------------------------- q5
def _classic_setup():
    """The article's set-up, with logits: D compiled, then frozen, then the stacked model compiled."""
    keras.utils.set_random_seed(0)
    g, d = tiny_generator(8), tiny_discriminator()
    d_opt, gan_opt = RecordingAdam(1e-3), RecordingAdam(1e-3)
    d.compile(optimizer=d_opt, loss=keras.losses.BinaryCrossentropy(from_logits=True))
    d.trainable = False
    z_in = keras.Input((8,))
    gan = keras.Model(z_in, d(g(z_in)), name="stacked")
    gan.compile(optimizer=gan_opt, loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return g, d, gan, d_opt, gan_opt


def _check_classic_round(fn):
    g, d, gan, d_opt, gan_opt = _classic_setup()
    real = real_batch(16)
    z = np.random.default_rng(3).standard_normal((16, 8)).astype("float32")
    for round_ in range(2):  # twice: the second call runs the already-traced train functions
        g0, d0 = weights_snapshot(g), weights_snapshot(d)
        call_answer(fn, g, d, gan, real, z)
        if max_change(d0, d) == 0.0:
            raise Incorrect("the discriminator did not move: it was frozen (trainable=False) when its train "
                            "function was first built, so Keras 3 gives it nothing to train. Set "
                            "discriminator.trainable = True before discriminator.train_on_batch")
        if max_change(g0, g) == 0.0:
            raise Incorrect("the generator did not move: train it through the stacked model, "
                            "gan_model.train_on_batch(z, ones); the generator alone is not compiled")
        if gan_opt.touched & {v.path for v in d.trainable_variables} or gan_opt.touched & {
                v.path for v in d.weights}:
            raise Incorrect("the stacked model's update also trained the discriminator: set "
                            "discriminator.trainable = False before gan_model.train_on_batch")
        if round_ == 0 and not gan_opt.touched:
            raise Incorrect("the stacked model was never trained")
    return "Repaired: it works, but only because each train function was first built in the right state. " \
           "An explicit GradientTape step has no such trap."


q5 = Exercise(
    "Debug the article: make the frozen-discriminator recipe train both networks in Keras 3",
    _check_classic_round,
    hint="Keras 3 reads `trainable` when a model's train function is first built. Toggle it: True before "
         "discriminator.train_on_batch, False before gan_model.train_on_batch; train G through `gan_model` "
         "with target 1.",
)
