"""Checkers for chapter 06 (the faces project): shape arithmetic, the 64x64 DCGAN, a training step,
image preparation and the stabilisers.

    from utils.exercises import ch06 as ex
    ex.q1.check(output_size)          # (size, stack) -> spatial size after the stack, by hand
    ex.q2.check(prepare_face)         # (image uint8 (H, W[, C])) -> (64, 64, 3) float32 in [-1, 1]
    ex.q3.check(build_generator)      # (latent_dim, filters) -> resize-conv G: (N, d) -> (N, 64, 64, 3)
    ex.q4.check(build_discriminator)  # (filters) -> spectrally normalised D: (N, 64, 64, 3) -> (N, 1) logits
    ex.q5.check(train_step)           # (G, D, g_opt, d_opt, real, z, real_label) -> {"d_loss", "g_loss"}
    ex.q6.check(stabilisers)          # () -> a set of letters from STABILISER_OPTIONS (or the set itself)
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from . import fixtures as fx
from .fixtures import all_layers, as_array, describe
from .framework import Exercise, Incorrect, NotAttempted, call_answer

# ---------------------------------------------------------------- q1: shape arithmetic

_Q1_CASES = [  # (what it tests, input size, stack)
    ("UpSampling2D", 7, [("up", 2)]),
    ("a 'valid' (unpadded) 3x3 Conv2D", 14, [("conv", 3, 1, "valid")]),
    ("a 'same' stride-2 Conv2D on an odd size", 15, [("conv", 4, 2, "same")]),
    ("a 'valid' stride-2 Conv2D where the stride does not divide evenly", 16, [("conv", 3, 2, "valid")]),
    ("a 'same' stride-2 Conv2DTranspose", 8, [("convT", 4, 2, "same")]),
    ("a 'valid' stride-2 Conv2DTranspose", 8, [("convT", 4, 2, "valid")]),
    ("a 'valid' stride-3 Conv2DTranspose with a 2x2 kernel (kernel < stride)", 7,
     [("convT", 2, 3, "valid")]),
    ("MaxPooling2D on an odd size", 13, [("pool", 2)]),
    ("the article's face generator (7x7, then six rounds of UpSampling2D + unpadded 3x3 Conv2D)", 7,
     [("up", 2), ("conv", 3, 1, "valid")] * 6),
    ("the article's face discriminator on 28x28", 28, [("conv", 3, 1, "valid"), ("pool", 2)] * 3),
    ("a DCGAN generator 4 -> 64", 4, [("convT", 4, 2, "same")] * 4),
    ("a DCGAN discriminator 64 -> 4", 64, [("conv", 4, 2, "same")] * 4),
]


def _keras_size(size, stack):
    from ..chapters.faces import keras_stack

    return int(keras_stack(stack, size, channels=1).output_shape[1])


def _check_output_size(fn) -> str:
    for what, size, stack in _Q1_CASES:
        expected = _keras_size(size, stack)
        got = call_answer(fn, size, list(stack))
        if isinstance(got, (tuple, list)) or (hasattr(got, "shape") and np.ndim(got) > 0):
            raise Incorrect(f"return one number (height = width), got {got!r}")
        if got is None or int(got) != got:
            raise Incorrect(f"return an integer number of pixels, got {got!r}")
        if int(got) != expected:
            extra = ""
            if "article's face generator" in what and int(got) == 448:
                extra = " (448 = 7 x 2^6 ignores that each unpadded 3x3 conv trims 2 pixels)"
            raise Incorrect(f"for {what}, input {size}x{size}, Keras gives {expected}x{expected}, "
                            f"you computed {int(got)}{extra}")
    return ("Every case matches Keras. The article's generator ends at 322x322x3: not 64x64, and nothing "
            "like the 28x28x1 its discriminator takes.")


# ---------------------------------------------------------------- helpers for q2 and q3


def _activation_name(layer):
    act = getattr(layer, "activation", None)
    return getattr(act, "__name__", str(act)) if act is not None else None


def _as_model(obj, what):
    import keras

    if not isinstance(obj, keras.Model):
        raise Incorrect(f"{what} should return a keras.Model, got {describe(obj)}")
    if any(type(layer).__name__ == "Lambda" for layer in all_layers(obj)):
        raise Incorrect("it contains a Lambda layer: a saved model with Lambda layers does not load with plain "
                        "keras.models.load_model. Use built-in layers")
    return obj


# ---------------------------------------------------------------- q2: 64x64 generator


def _generator_design(model) -> None:
    """The chapter's generator (section 3): resize-convolutions, BatchNorm, no transposed convs."""
    types = [type(layer).__name__ for layer in all_layers(model)]
    if "Conv2DTranspose" in types:
        raise Incorrect("it upsamples with Conv2DTranspose, the classic DCGAN design that lost to D in section "
                        "3's measurements. This chapter's generator uses resize-convolutions: "
                        "UpSampling2D(2), then Conv2D(f, 3, padding='same')")
    if "UpSampling2D" not in types:
        raise Incorrect("no UpSampling2D: each of the four x2 steps is UpSampling2D(2) followed by a 3x3 "
                        "Conv2D with padding='same' (4 -> 8 -> 16 -> 32 -> 64)")
    if "BatchNormalization" not in types:
        raise Incorrect("no BatchNormalization: DCGAN generators normalise after each hidden layer; without it "
                        "64x64 training is much less stable")


def _check_generator(fn) -> str:
    from ..chapters import faces

    model = _as_model(call_answer(fn, 100, filters=64), "build_generator(100, filters=64)")
    in_shape = tuple(model.input_shape)
    if in_shape != (None, 100):
        raise Incorrect(f"build_generator(100) should take latent vectors of shape (N, 100), its input is {in_shape}")
    out_shape = tuple(model.output_shape)
    if out_shape == (None, 322, 322, 3):
        raise Incorrect("output 322x322x3: that is the article's generator (six x2 upsamplings from 7x7, each "
                        "followed by an unpadded 3x3 conv). Start at 4x4 and use four x2 steps with "
                        "padding='same'")
    if out_shape[1:3] == (28, 28):
        raise Incorrect(f"output {out_shape}: those are MNIST shapes; faces are (64, 64, 3)")
    if out_shape != (None, 64, 64, 3):
        raise Incorrect(f"the output should be (N, 64, 64, 3), got {out_shape}")
    _generator_design(model)
    params, want = model.count_params(), faces.build_face_generator(100, filters=64).count_params()
    if params != want:
        raise Incorrect(f"with filters=64 it has {params:,} parameters; the chapter's design has {want:,}: "
                        "Dense(4*4*filters, use_bias=False), then three UpSampling2D + Conv2D(f, 3, "
                        "use_bias=False) blocks with f = filters/2, /4, /8, each + BatchNorm + ReLU, and a "
                        "last UpSampling2D + Conv2D(3, 3, activation='tanh'). Use the filters argument")
    rng = np.random.default_rng(0)
    z = rng.standard_normal((8, 100)).astype("float32")
    images = np.asarray(model(z, training=False), dtype="float64")
    # far-out latent vectors show the output range: a tanh stays in [-1, 1] whatever comes in
    wide = np.asarray(model(30 * z, training=False), dtype="float64")
    if not np.isfinite(images).all() or not np.isfinite(wide).all():
        raise Incorrect("the output contains NaN or inf")
    if wide.min() < -1 - 1e-5 or wide.max() > 1 + 1e-5:
        raise Incorrect(f"values range over [{wide.min():.2f}, {wide.max():.2f}] for large z: end with a tanh so "
                        "images are in [-1, 1], the range the real faces are scaled to")
    if wide.min() >= 0:
        raise Incorrect("all values are >= 0: a sigmoid (or ReLU) output gives [0, 1], but the real faces are "
                        "scaled to [-1, 1]; end with tanh")
    if np.abs(images[0] - images[1]).max() < 1e-6:
        raise Incorrect("two different latent vectors gave the same image: the output must depend on z")
    small = _as_model(call_answer(fn, 16, filters=32), "build_generator(16, filters=32)")
    if tuple(small.input_shape) != (None, 16):
        raise Incorrect(f"build_generator(16) should take (N, 16) latent vectors, its input is "
                        f"{tuple(small.input_shape)}; use the latent_dim argument")
    return f"(N, 100) -> (N, 64, 64, 3) in [-1, 1] with resize-convolutions, {params:,} parameters at filters=64."


# ---------------------------------------------------------------- q3: 64x64 discriminator


def _spectral_norm_everywhere(model) -> None:
    """The chapter's D (section 3): every Conv2D and the Dense inside SpectralNormalization, no BatchNorm."""
    import keras

    layers, wrapped = [], []
    for layer in model.layers:
        if isinstance(layer, keras.layers.SpectralNormalization):
            wrapped.append(layer.layer)
        layers.append(layer.layer if isinstance(layer, keras.layers.Wrapper) else layer)
    if any(type(layer).__name__ == "BatchNormalization" for layer in layers):
        raise Incorrect("BatchNormalization in D: this chapter's discriminator uses spectral normalisation "
                        "instead (section 3), so D cannot grow arbitrarily steep; drop the BatchNorm layers")
    bare = [type(layer).__name__ for layer in layers
            if type(layer).__name__ in ("Conv2D", "Dense") and not any(layer is w for w in wrapped)]
    if bare:
        raise Incorrect(f"{len(bare)} weight layer(s) ({', '.join(sorted(set(bare)))}) are not spectrally "
                        "normalised: wrap every Conv2D and the final Dense, e.g. "
                        "keras.layers.SpectralNormalization(keras.layers.Conv2D(f, 4, strides=2, "
                        "padding='same'))")


def _check_discriminator(fn) -> str:
    from ..chapters import faces

    model = _as_model(call_answer(fn, filters=16), "build_discriminator(filters=16)")
    in_shape = tuple(model.input_shape)
    if in_shape == (None, 28, 28, 1):
        raise Incorrect("input 28x28x1: that is the article's discriminator, built for MNIST digits; the "
                        "faces are (64, 64, 3)")
    if in_shape != (None, 64, 64, 3):
        raise Incorrect(f"the input should be (N, 64, 64, 3), got {in_shape}")
    if tuple(model.output_shape) != (None, 1):
        raise Incorrect(f"the output should be one logit per image, shape (N, 1), got {tuple(model.output_shape)}")
    layers = all_layers(model)
    for layer in reversed(layers):
        name = type(layer).__name__
        act = _activation_name(layer)
        if name in ("Dense", "Conv2D", "Activation") or act not in (None, "linear"):
            if act == "sigmoid":
                raise Incorrect("the last layer applies a sigmoid: return logits (no activation) and use "
                                "from_logits=True in the loss; it is more accurate and does not saturate")
            break
    types = [type(layer).__name__ for layer in layers]
    if "MaxPooling2D" in types or "AveragePooling2D" in types:
        raise Incorrect("it downsamples with pooling: DCGAN discriminators use stride-2 convolutions instead, "
                        "so the network learns its own downsampling")
    if any(t == "ReLU" for t in types) or any(_activation_name(layer) == "relu" for layer in layers):
        raise Incorrect("it uses plain ReLU: use LeakyReLU(negative_slope=0.2) in the discriminator so the "
                        "generator gets gradients also where D's units are off")
    if "LeakyReLU" not in types and not any(_activation_name(layer) in ("leaky_relu",) for layer in layers):
        raise Incorrect("no LeakyReLU: the DCGAN discriminator uses LeakyReLU(negative_slope=0.2) after its convs")
    _spectral_norm_everywhere(model)
    params, want = model.count_params(), faces.build_face_discriminator(filters=16).count_params()
    if params != want:
        raise Incorrect(f"with filters=16 it has {params:,} parameters; the chapter's design has {want:,}: four "
                        "Conv2D(f, 4, strides=2, padding='same') with f = filters, 2, 4 and 8 x filters "
                        "(64 -> 32 -> 16 -> 8 -> 4), then Flatten and Dense(1). Use the filters argument")
    images = np.random.default_rng(1).uniform(-1, 1, (4, 64, 64, 3)).astype("float32")
    logits = np.asarray(model(images, training=False))
    if not np.isfinite(logits).all():
        raise Incorrect("the output contains NaN or inf")
    return f"(N, 64, 64, 3) -> (N, 1) logits, spectrally normalised, {params:,} parameters at filters=16."


# ---------------------------------------------------------------- q4: one training step
REAL_LABEL = 0.9


def _bce_mean(target, logits):
    targets = tf.fill(tf.shape(logits), target)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(targets, logits))

_SMOOTHED = {"real_label": REAL_LABEL}
_STEP_MISTAKES = [
    (f"d_loss uses label 1 for the real images; use real_label (here {REAL_LABEL}) for them: "
     "one-sided label smoothing", {"real_label": 1.0}),
    ("D's labels are swapped: real images get real_label, generated ones target 0",
     {"d_loss_fn": lambda r, f: _bce_mean(REAL_LABEL, f) + _bce_mean(0.0, r)}),
    ("the fake images got a smoothed label too: smoothing is one-sided, fakes keep 0",
     {"d_loss_fn": lambda r, f: _bce_mean(REAL_LABEL, r) + _bce_mean(1 - REAL_LABEL, f)}),
]


def _check_train_step(fn) -> str:
    setup = fx.gan_setup(latent_dim=4, shape=(8, 8, 3), given_z=True)
    got = fx.run_step_given_z(fn, setup, REAL_LABEL)
    # Right: the course's step, or G's gradient taken against D before D's update (simultaneous).
    match = fx.grade_step(got, setup, accepted=(_SMOOTHED, {**_SMOOTHED, "simultaneous": True}),
                          d_mistakes=_STEP_MISTAKES,
                          rerun=lambda: fx.run_step_given_z(fn, setup, REAL_LABEL))
    simultaneous = not np.allclose(match.g[0], fx.reference_step(setup, **_SMOOTHED).g[0])
    return ("D stepped on real and fake, G on the non-saturating loss; each optimizer touched "
            "only its own network"
            + (" (G's loss taken before D's update: fine too)." if simultaneous else "."))


# ---------------------------------------------------------------- q5: preparing a real face photo


def _test_image():
    """A 90x130 uint8 image: a smooth face-like centre square, bright red side bands outside it."""
    h, w = 90, 130
    ys, xs = np.mgrid[0:h, 0:w].astype("float64")
    img = np.zeros((h, w, 3))
    img[..., 0] = 0.3 + 0.4 * ys / h
    img[..., 1] = 0.2 + 0.5 * (xs - 20) / 90
    img[..., 2] = 0.6 - 0.3 * ys / h
    img[:, :20] = (1.0, 0.0, 0.0)
    img[:, 110:] = (1.0, 0.0, 0.0)
    return (np.clip(img, 0, 1) * 255).round().astype("uint8")


def _check_prepare_face(fn) -> str:
    from ..chapters.faces import prepare_face as reference

    image = _test_image()
    out = as_array(call_answer(fn, image.copy()))
    if out.shape != (64, 64, 3):
        raise Incorrect(f"a 90x130 RGB photo should become (64, 64, 3), got {out.shape}")
    if out.dtype != np.float32:
        raise Incorrect(f"return float32 (what the networks compute in), got {out.dtype}")
    if out.max() > 1.5:
        raise Incorrect(f"values up to {out.max():.0f}: scale uint8 pixels by 1/255 and then to [-1, 1]")
    if out.min() >= 0:
        raise Incorrect("values in [0, 1]: the generator ends with tanh, so the real images must be in [-1, 1] "
                        "(x / 127.5 - 1)")
    if out.min() < -1 - 1e-5 or out.max() > 1 + 1e-5:
        raise Incorrect(f"values range over [{out.min():.2f}, {out.max():.2f}], outside [-1, 1]")
    expected = reference(image)
    red = (out[..., 0] > 0.9) & (out[..., 1] < -0.8)
    if red[:, :3].mean() > 0.5 or red[:, -3:].mean() > 0.5:
        raise Incorrect("the red side bands are still in the picture: you resized the whole 90x130 image "
                        "(stretching faces sideways). Crop the centre square (90x90) first, then resize")
    if np.abs(out - expected).mean() > 0.06:
        raise Incorrect("not the centre square of the photo resized to 64x64 (crop (H - s)//2 and (W - s)//2 from "
                        "the top and left, where s = min(H, W))")
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, "uint8")], axis=-1)
    out4 = as_array(call_answer(fn, rgba))
    if out4.shape != (64, 64, 3):
        raise Incorrect(f"an RGBA PNG (H, W, 4) should also give (64, 64, 3) (drop alpha), got {out4.shape}")
    grey = image[..., 0]
    out_g = as_array(call_answer(fn, grey))
    if out_g.shape != (64, 64, 3):
        raise Incorrect(f"a greyscale photo (H, W) should give (64, 64, 3) (repeat the channel), got {out_g.shape}")
    return "Centre crop, 64x64, float32 in [-1, 1]; RGBA and greyscale handled."


# ---------------------------------------------------------------- q6: stabilisers

STABILISER_OPTIONS = {
    "A": "Adam with learning rate 2e-4 and beta_1 = 0.5 for both networks",
    "B": "BatchNormalization right after the discriminator's first convolution",
    "C": "tanh at the generator's output, real images scaled to [-1, 1]",
    "D": "MaxPooling2D to downsample in the discriminator",
    "E": "LeakyReLU(negative_slope=0.2) in the discriminator",
    "F": "one-sided label smoothing: real images get target 0.9, fakes keep 0",
    "G": "a sigmoid at the discriminator's output together with BinaryCrossentropy(from_logits=True)",
    "H": "a learning rate of 1e-2 so that the 10-minute budget goes further",
    "I": "BatchNormalization after the generator's hidden layers",
    "J": "spectral normalisation of the discriminator's weights, so D cannot become arbitrarily steep",
    "K": "upsampling followed by a 3x3 convolution in the generator, instead of overlapping transposed convolutions",
    "L": "more discriminator filters than generator filters, so D always stays ahead",
}
_RIGHT = {"A", "C", "E", "F", "I", "J", "K"}
_WHY_WRONG = {
    "B": "B is wrong: BN on D's first layer normalises raw pixels per batch; DCGAN leaves it out",
    "D": "D is wrong: DCGAN replaces pooling by stride-2 convolutions",
    "G": "G is wrong: a sigmoid before a from_logits=True loss applies the sigmoid twice; D's outputs squeeze "
         "into (0.27, 0.73) and the loss is wrong",
    "H": "H is wrong: 1e-2 makes GAN training oscillate or collapse; 2e-4 is the DCGAN setting",
    "L": "L is wrong: a D that is always ahead classifies perfectly and its gradient for G vanishes; "
         "the two must stay in balance",
}


def _check_stabilisers(answer) -> str:
    if callable(answer):
        answer = call_answer(answer)
    if answer is None or answer is Ellipsis:
        raise NotAttempted("fill in the set of letters")
    if isinstance(answer, str):
        answer = [c for c in answer.upper() if c.isalpha()]
    try:
        chosen = {str(c).strip().upper() for c in answer}
    except TypeError as err:
        raise Incorrect(f"give a set of letters such as {{'A', 'C'}}, got {answer!r}") from err
    unknown = chosen - set(STABILISER_OPTIONS)
    if unknown:
        raise Incorrect(f"unknown option(s) {sorted(unknown)}; choose from {sorted(STABILISER_OPTIONS)}")
    wrong = sorted(chosen - _RIGHT)
    if wrong:
        raise Incorrect("; ".join(_WHY_WRONG[c] for c in wrong))
    missing = sorted(_RIGHT - chosen)
    if missing:
        raise Incorrect(f"{len(missing)} helpful choice(s) missing; look again at " + ", ".join(missing[:1])
                        + (" and others" if len(missing) > 1 else ""))
    return ("A, C, E, F, I, J and K: the DCGAN recipe, one-sided label smoothing, spectral normalisation and "
            "upsampling + convolution.")


# ---------------------------------------------------------------- the exercises

q1 = Exercise(
    "Output size of a layer stack, by hand",
    _check_output_size,
    hint="UpSampling2D(f): size * f. Conv2D 'valid': (size - kernel) // stride + 1; 'same': ceil(size / stride). "
         "Conv2DTranspose 'same': size * stride; 'valid': size * stride + max(kernel - stride, 0). "
         "MaxPooling2D(f): size // f.",
)

q3 = Exercise(
    "The project's 64x64 generator (resize-convolutions)",
    _check_generator,
    hint="Dense(4*4*filters, use_bias=False) -> BatchNormalization -> ReLU -> Reshape((4, 4, filters)), then "
         "three blocks UpSampling2D(2) + Conv2D(f, 3, padding='same', use_bias=False) + BN + ReLU with "
         "f = filters // 2, // 4, // 8, and a last UpSampling2D(2) + Conv2D(3, 3, padding='same', "
         "activation='tanh'): 4 -> 8 -> 16 -> 32 -> 64.",
)

q4 = Exercise(
    "The project's 64x64 discriminator (spectral normalisation)",
    _check_discriminator,
    hint="sn = keras.layers.SpectralNormalization; keras.Input((64, 64, 3)); then for f in (filters, 2 * filters, "
         "4 * filters, 8 * filters): sn(Conv2D(f, 4, strides=2, padding='same')) + LeakyReLU(0.2); Flatten; "
         "sn(Dense(1)) with no activation (a logit). No BatchNorm: spectral normalisation replaces it.",
)

q5 = Exercise(
    "One GAN training step (explicit GradientTape)",
    _check_train_step,
    hint="Tape 1: fake = G(z); d_loss = BCE(real_label, D(real)) + BCE(0, D(fake)) from logits; apply its gradient "
         "to D's variables with d_optimizer. Tape 2: g_loss = BCE(1, D(G(z))); apply its gradient to G's variables "
         "with g_optimizer. tf.nn.sigmoid_cross_entropy_with_logits(labels, logits) is BCE from logits.",
)

q2 = Exercise(
    "Prepare a real face photo for the DCGAN",
    _check_prepare_face,
    hint="Drop alpha (image[..., :3]), repeat a grey channel to 3, crop the centre min(H, W) square, resize to "
         "64x64 (tf.image.resize), then x / 255 * 2 - 1 as float32.",
)

q6 = Exercise(
    "Which choices stabilise a 64x64 DCGAN?",
    _check_stabilisers,
    hint="Think of the DCGAN paper's guidelines (optimizer, activations, normalisation, downsampling), the range of "
         "the data, and how a logit loss expects its input.",
)
