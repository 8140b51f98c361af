#!/usr/bin/env python3
"""Does the class-conditional GAN of chapter 09 draw the digit it is asked for?

Trains `utils.chapters.conditional`'s generator/discriminator on MNIST for a fixed number of steps (the
chapter's full-mode setting by default), draws `--per-class` samples of every digit, and asks a
classifier trained on real digits which digit each sample is. Prints the agreement with the requested
label (target: >= 0.90), per-class agreement and the wall time. The classifier is chapter 07's
`utils.metrics.get_classifier()` when utils/metrics.py exists, else a small CNN trained here (it says which).

    COURSE_DATA_DIR=/work/shared/data/mnist python benchmarks/conditional_gan.py
    python benchmarks/conditional_gan.py --steps 300 --per-class 50     # quick look
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def train_conditional_gan(x, y, steps: int, batch_size: int, seed: int = 0, log_every: int = 0):
    """Train the chapter's conditional GAN; return (generator, seconds)."""
    import keras
    import tensorflow as tf

    from utils.chapters import conditional as cond

    keras.utils.set_random_seed(seed)
    gen = cond.build_conditional_generator()
    disc = cond.build_conditional_discriminator()
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    step = tf.function(cond.make_train_step(gen, disc, g_opt, d_opt, global_batch_size=batch_size))
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for i in range(steps):
        idx = rng.integers(0, len(x), batch_size)
        z = rng.standard_normal((batch_size, cond.LATENT_DIM)).astype("float32")
        fake_labels = rng.integers(0, cond.NUM_CLASSES, batch_size).astype("int32")
        logs = step(x[idx], y[idx].astype("int32"), z, fake_labels)
        if log_every and (i + 1) % log_every == 0:
            print(f"  step {i + 1}: " + ", ".join(f"{k} {float(v):.3f}" for k, v in logs.items()), flush=True)
    return gen, time.perf_counter() - start


def small_classifier(x, y, epochs: int = 3):
    """A small CNN on real digits in [-1, 1] (used only when utils.metrics is missing)."""
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dropout(0.3), layers.Dense(10),
    ])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=128, verbose=0)

    def probs(images):
        return keras.ops.convert_to_numpy(keras.ops.softmax(model.predict(images, verbose=0)))

    return probs


def classifier_probs_fn(x_train, y_train, x_test, y_test):
    """Return (probs(images in [-1,1]) -> (N,10), description)."""
    try:
        from utils import metrics
    except ImportError:
        metrics = None
    if metrics is not None and hasattr(metrics, "classifier_probs"):
        def probs(images):
            return metrics.classifier_probs(np.clip((np.asarray(images) + 1.0) / 2.0, 0.0, 1.0))

        return probs, "utils.metrics.classifier_probs (chapter 07's classifier)"
    probs = small_classifier(x_train, y_train)
    acc = float(np.mean(np.argmax(probs(x_test), 1) == y_test))
    return probs, f"small CNN trained here (utils.metrics missing), test accuracy {acc:.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1500, help="training steps (chapter 09 full mode: 1500)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--per-class", type=int, default=100, help="samples drawn per digit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import utils
    from utils.chapters import conditional as cond

    data = utils.load_mnist()
    x = utils.scale_images(data.x_train, to="tanh")
    x_test = utils.scale_images(data.x_test, to="tanh")
    probs_fn, how = classifier_probs_fn(x, data.y_train, x_test, data.y_test)
    print(f"classifier: {how}")
    real_acc = float(np.mean(np.argmax(probs_fn(x_test), 1) == data.y_test))
    print(f"classifier accuracy on real test digits: {real_acc:.3f}")

    gen, seconds = train_conditional_gan(x, data.y_train, args.steps, args.batch_size, args.seed,
                                         log_every=max(1, args.steps // 5))
    labels = cond.class_grid_labels(per_class=args.per_class)
    samples = cond.generate(gen, labels, seed=args.seed + 1)
    probs = probs_fn(samples)
    agreement = cond.label_agreement(probs, labels)
    per_class = [cond.label_agreement(probs[labels == c], labels[labels == c]) for c in range(10)]
    print(f"training: {args.steps} steps x batch {args.batch_size} in {seconds:.0f} s "
          f"({1000 * seconds / args.steps:.0f} ms/step)")
    print(f"agreement with requested label: {agreement:.3f} over {len(labels)} samples (target >= 0.90)")
    print("per class: " + " ".join(f"{c}:{a:.2f}" for c, a in enumerate(per_class)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
