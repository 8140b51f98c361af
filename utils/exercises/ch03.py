"""Checkers for chapter 03 (DCGAN): `from utils.exercises import ch03 as ex`, then `ex.q1.check(convt_output_size)`.

q1 transposed-convolution output size, q2 DCGAN generator, q3 debug the article: the DCGAN discriminator,
q4 a GAN `train_step` for `fit()` with the R1 penalty,
q5 debug the article: the frozen-discriminator recipe under Keras 3.
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
import tensorflow as tf

from .. import gan
from ..training import snapshot_weights
from .fixtures import (
    LR_D,
    LR_G,
    RecordingSGD,
    Step,
    all_layers,
    check_generator,
    check_logit_discriminator,
    check_optimisers,
    convt_size,
    describe,
    eagerly,
    gan_setup,
    grade_steps,
    loss_values,
    same_noise,
)
from .framework import Exercise, Incorrect, call_answer

# (size, kernel, stride, padding); the last 'valid' ones have kernel < stride, where the rule
# (size - 1) * stride + kernel that many texts give is wrong for Keras.
_CASES = [(7, 4, 2, "same"), (7, 5, 2, "same"), (14, 4, 2, "same"), (7, 5, 1, "same"),
          (7, 3, 1, "valid"), (7, 4, 2, "valid"), (3, 3, 3, "valid"), (14, 5, 2, "valid"),
          (1, 7, 1, "valid"), (4, 4, 1, "same"), (7, 2, 3, "valid"), (4, 1, 2, "valid")]


# ----------------------------------------------------------------------------------------------- q1
def _size_hint(got, size, kernel, stride, padding) -> str:
    if padding == "valid" and got == (size - kernel) // stride + 1:
        return (" (that is the formula of an ordinary convolution; a transposed one runs it "
                "backwards)")
    if padding == "valid" and got == (size - 1) * stride + kernel:
        return (" ((size - 1) * stride + kernel holds only when kernel >= stride; when the kernel "
                "is smaller, the stride still spaces the inputs: size * stride + "
                "max(kernel - stride, 0))")
    if padding == "same" and got == size:
        return " ('same' multiplies the size by the stride)"
    return ""


def _check_convt_size(fn):
    for size, kernel, stride, padding in _CASES:
        got = call_answer(fn, size, kernel, stride, padding)
        want = convt_size(size, kernel, stride, padding)
        whole = isinstance(got, (int, np.integer, float)) and not isinstance(got, bool)
        if not whole or got != int(got):
            raise Incorrect(f"return a whole number of pixels, got {got!r}")
        if got != want:
            hint = _size_hint(got, size, kernel, stride, padding)
            raise Incorrect(f"size={size}, kernel={kernel}, stride={stride}, padding={padding!r}: "
                            f"Keras gives {want}, you give {got}{hint}")
    return ("Right: 'same' gives size*stride, 'valid' gives size*stride + max(kernel - stride, 0). "
            "7 -> 14 -> 28 with stride 2.")


q1 = Exercise(
    "Output size of a transposed convolution",
    _check_convt_size,
    hint="Each input pixel is spread over a kernel-sized window, windows `stride` apart: 'same' "
         "gives n*s; 'valid' gives n*s + max(k - s, 0) (that is (n-1)*s + k when k >= s).",
)


# ----------------------------------------------------------------------------------------------- q2
def _check_dcgan_generator(build):
    model = check_generator(build, latent_dims=(100, 32))
    layers = all_layers(model)
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
    layers = all_layers(model)
    pools = [la for la in layers if isinstance(la, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D))]
    if pools:
        raise Incorrect("the discriminator uses pooling: DCGAN downsamples with strided convolutions, which learn "
                        "how to downsample and keep gradients flowing to every pixel")
    convs = [la for la in layers if type(la) is keras.layers.Conv2D]
    if not convs or not any(max(la.strides) >= 2 for la in convs):
        raise Incorrect("use Conv2D layers with strides=2 to go 28 -> 14 -> 7")
    norms = [la for la in layers if isinstance(la, keras.layers.BatchNormalization)]
    if norms and layers.index(norms[0]) < layers.index(convs[1] if len(convs) > 1 else convs[0]):
        raise Incorrect("batch norm right after the first convolution: DCGAN leaves the "
                        "discriminator's input layer unnormalised (it destabilises training)")
    if norms:
        raise Incorrect("batch norm in the discriminator (defect 18): in the article's recipe "
                        "D normalises with the statistics of a mixed real+fake batch in its own "
                        "update and of all-fake batches in the generator's, so G trains against "
                        "another function than D learned. This chapter's D uses no batch norm")
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
R1_GAMMA = 0.05  # with the check's confident D this makes R1 about a quarter of D's update


def _fit_steps(model, g, d, batches):
    """fit() over the batches (one epoch); the weights of G and D after each step, and the logs."""
    after = []
    def record(batch, logs):
        after.append((snapshot_weights(g), snapshot_weights(d)))

    keep = keras.callbacks.LambdaCallback(on_train_batch_end=record)
    data = tf.data.Dataset.from_tensor_slices(np.concatenate(batches)).batch(len(batches[0]))
    history = call_answer(model.fit, data, epochs=1, verbose=0, shuffle=False, callbacks=[keep])
    return after, {key: values[-1] for key, values in history.history.items()}


def _options(gan_class) -> dict:
    """What the check passes to the class: R1 always, label smoothing where the class takes it."""
    try:
        names = inspect.signature(gan_class.__init__).parameters
    except (TypeError, ValueError):
        names = {}
    return {"r1_gamma": R1_GAMMA, **({"real_label": 0.9} if "real_label" in names else {})}


def _run_gan_class(gan_class, setup):
    """The learner's class trained by fit() from the set-up's weights, with the scripted noise."""
    g, d = setup.fresh()
    g_opt, d_opt = RecordingSGD(LR_G), RecordingSGD(LR_D)
    with same_noise(**setup.noise()), eagerly():
        model = call_answer(gan_class, g, d, setup.latent_dim, **_options(gan_class))
        call_answer(model.compile, d_optimizer=d_opt, g_optimizer=g_opt)
        steps, logs = _fit_steps(model, g, d, setup.batches)
    check_optimisers(g, d, g_opt, d_opt)
    return steps, loss_values(logs)


def _run_reference(gan_class, setup):
    """gan.GAN, the course's class, trained the same way: the answer must equal it step for step."""
    g, d = setup.fresh()
    model = gan.GAN(g, d, setup.latent_dim, **_options(gan_class))
    model.compile(d_optimizer=keras.optimizers.SGD(LR_D), g_optimizer=keras.optimizers.SGD(LR_G))
    with same_noise(**setup.noise()):
        steps, logs = _fit_steps(model, g, d, setup.batches)
    return steps, loss_values(logs)


def _check_gan_model(gan_class):
    if not (isinstance(gan_class, type) and issubclass(gan_class, keras.Model)):
        raise Incorrect(f"pass the class itself (a keras.Model subclass), not an instance; got "
                        f"{describe(gan_class)}")
    setup = gan_setup(batches=2)
    steps, losses = _run_gan_class(gan_class, setup)
    ref_steps, ref_losses = _run_reference(gan_class, setup)
    if len(steps) != len(ref_steps):
        raise Incorrect(f"fit() ran {len(steps)} step(s) on {len(ref_steps)} batches")
    options = _options(gan_class)
    pairs = zip(steps, ref_steps)
    if not all(_same(g_k, g_ref) and _same(d_k, d_ref) for (g_k, d_k), (g_ref, d_ref) in pairs):
        grade_steps([Step(*step) for step in steps], setup, accepted=(options,),
                    d_mistakes=_r1_mistakes(options), g_mistakes=_REUSE,
                    rerun=lambda: [Step(*step) for step in _run_gan_class(gan_class, setup)[0]])
        raise Incorrect("fit() gives other weights than gan.GAN's, step for step")
    for name, mine, want in zip(("d_loss", "g_loss"), losses, ref_losses):
        if not np.isclose(mine, want, rtol=1e-3, atol=1e-4):
            raise Incorrect(f"the updates are right, but fit() reports {name} = {mine:.4f}, "
                            f"gan.GAN {want:.4f}: track the loss before the update (D's without "
                            "the R1 term)")
    return ("Step for step the same as gan.GAN: D on real and fake with R1, then G toward 'real', "
            "each through its own optimiser.")


def _same(a, b) -> bool:
    return all(np.allclose(x, y, rtol=1e-4, atol=1e-6) for x, y in zip(a, b))


_REUSE = [("G's update reuses the noise of D's update: draw fresh z for G, as gan.GAN does",
           {"reuse": True})]


def _r1_mistakes(options):
    gamma = options["r1_gamma"]
    found = [("D's update has no R1 term: with r1_gamma > 0, add self.r1_gamma / 2 * "
              "gan.r1_penalty(self.discriminator, real_images) to D's loss inside its tape",
              {"r1_gamma": 0.0}),
             ("the R1 term is twice too large: add self.r1_gamma / 2 * gan.r1_penalty(...) "
              "(note the 1/2)", {"r1_gamma": 2 * gamma})]
    if "real_label" in options:
        found.append(("D's real target ignores self.real_label (one-sided label smoothing): pass "
                      "real_label=self.real_label to gan.discriminator_loss", {"real_label": 1.0}))
    return found


q4 = Exercise(
    "A GAN keras.Model with train_step, trained by fit()",
    _check_gan_model,
    hint="In train_step: take the real batch, update D with a tape over discriminator.trainable_variables "
         "(real target 1, fake 0; inside the tape add self.r1_gamma / 2 * gan.r1_penalty(self.discriminator, "
         "real_images) to the loss you differentiate), then G with fresh noise and target 1 over "
         "generator.trainable_variables; update the trackers and return {name: tracker.result()}.",
)


# ----------------------------------------------------------------------------------------------- q5
def _half_d_loss(real_logits, fake_logits, real_label=1.0):
    """D's loss on one concatenated real+fake batch: the mean over 2n examples, half gan's."""
    return 0.5 * gan.discriminator_loss(real_logits, fake_logits, real_label)


_CLASSIC = {"d_loss_fn": _half_d_loss}
_CLASSIC_MISTAKES = [
    ("D's labels are swapped: real images get target 1, generated ones target 0",
     {"d_loss_fn": lambda r, f: _half_d_loss(f, r)}),
]


def _classic_setup(setup):
    """The article's set-up, with logits: D compiled, then frozen, then the stacked model compiled."""
    g, d = setup.fresh()
    d_opt, gan_opt = RecordingSGD(LR_D), RecordingSGD(LR_G)
    d.compile(optimizer=d_opt, loss=keras.losses.BinaryCrossentropy(from_logits=True))
    d.trainable = False
    z_in = keras.Input((setup.latent_dim,))
    stacked = keras.Model(z_in, d(g(z_in)), name="stacked")
    stacked.compile(optimizer=gan_opt, loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return g, d, stacked, d_opt, gan_opt


def _run_classic(fn, setup) -> list:
    """The learner's recipe, one round a batch (the second runs the train functions built)."""
    g, d, stacked, d_opt, gan_opt = _classic_setup(setup)
    steps = []
    with eagerly():
        for real in setup.batches:
            call_answer(fn, g, d, stacked, real.copy(), setup.z.copy())
            steps.append(Step(snapshot_weights(g), snapshot_weights(d)))
    if gan_opt.touched & {v.path for v in d.weights}:
        raise Incorrect("the stacked model's update also trained the discriminator: set "
                        "discriminator.trainable = False before gan_model.train_on_batch")
    return steps


def _check_classic_round(fn):
    setup = gan_setup(given_z=True)
    setup.batches = setup.batches * 2  # two rounds on the same batch
    grade_steps(_run_classic(fn, setup), setup, rerun=lambda: _run_classic(fn, setup),
                accepted=(_CLASSIC,), d_mistakes=_CLASSIC_MISTAKES)
    return "Repaired: it works, but only because each train function was traced in the right state " \
           "(a retrace, e.g. for a new batch size, reads the flag again). An explicit GradientTape step " \
           "has no such trap."


q5 = Exercise(
    "Debug the article: make the frozen-discriminator recipe train both networks in Keras 3",
    _check_classic_round,
    hint="Keras 3 reads `trainable` when a model's train function is traced (its first training call after "
         "compile(), and again on a retrace). Toggle it: True before "
         "discriminator.train_on_batch, False before gan_model.train_on_batch; train G through `gan_model` "
         "with target 1.",
)
