#!/usr/bin/env python3
"""Which common GAN tricks move chapter 03's DCGAN towards a classifier score of 9? An ablation at equal steps.

Every variant changes one thing in the plain DCGAN recipe (chapter 03's networks, G 64 / D 32 filters, batch 32,
Adam 2e-4 with beta_1 0.5, non-saturating logistic loss, real label 1.0, no penalty) and trains for the same
number of steps on the same
MNIST training digits (offline: the 8,000-image split of the t10k files). At each checkpoint 2,000 samples are
scored with chapter 07's metrics (`utils.metrics.evaluate_generator`: classifier-FID against the 2,000 held-out
digits, the Inception-style score, k-NN precision and recall).

  plain        the plain recipe, unchanged
  r1           + R1 penalty (gamma / 2) E||grad_x D(x)||^2 on real images, gamma = 1 (Mescheder et al., 2018):
               chapter 03's recipe since this ablation
  lsgan        least-squares losses instead of the logistic ones (Mao et al., 2017)
  d_batchnorm  BatchNormalization after D's second convolution (the classic DCGAN discriminator)
  lr_decay     both learning rates decay linearly to 0 over the second half of the steps
  ema          samples come from an exponential moving average of G's weights (decay 0.999)
  wide         G 128 / D 64 filters (about four times the multiply-adds of the plain pair)

Each run uses one CPU thread, so `--jobs 2` trains two variants side by side on 2 cores; ms/step is per core.
Steps, not seconds, are held equal: multiply by the printed ms/step to compare at equal time.

  flock /tmp/course_cpu.lock env COURSE_DATA_DIR=/work/shared/data/mnist \
      .venv/bin/python benchmarks/dcgan_variants.py --steps 5000 10000 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet TensorFlow before it loads

VARIANTS = {
    "plain": "chapter 03's networks, no penalty",
    "r1": "+ R1 penalty on real images, gamma 1 (chapter 03)",
    "lsgan": "least-squares losses",
    "d_batchnorm": "BatchNorm in D",
    "lr_decay": "linear LR decay to 0 over the second half",
    "ema": "EMA of G's weights (0.999)",
    "wide": "G 128 / D 64 filters",
}
RESULT_PREFIX = "RESULT "


def build_networks(variant):
    """Chapter 03's generator and discriminator, with the variant's change to either."""
    import keras

    from utils import gan

    if variant == "wide":
        return gan.build_dcgan_generator(filters=128), gan.build_dcgan_discriminator(filters=64)
    generator = gan.build_dcgan_generator()
    if variant != "d_batchnorm":
        return generator, gan.build_dcgan_discriminator()
    layers = keras.layers
    return generator, keras.Sequential([
        keras.Input(gan.IMAGE_SHAPE),
        layers.Conv2D(32, 4, strides=2, padding="same"), layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(64, 4, strides=2, padding="same"), layers.BatchNormalization(),
        layers.LeakyReLU(negative_slope=0.2), layers.Flatten(), layers.Dense(1),
    ], name="dcgan_discriminator_bn")


def make_step(variant, generator, discriminator, g_optimizer, d_optimizer, seed, latent_dim=100):
    """One D update then one G update: chapter 03's step (`utils.gan.make_train_step`), or its LSGAN twin."""
    import keras
    import tensorflow as tf

    from utils import gan

    if variant != "lsgan":
        return gan.make_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim, seed=seed,
                                   r1_gamma=1.0 if variant == "r1" else 0.0)
    seeds = keras.random.SeedGenerator(seed)

    @tf.function
    def lsgan_step(real_images):  # the same step with least-squares losses on the logits
        batch = tf.shape(real_images)[0]
        z = keras.random.normal((batch, latent_dim), seed=seeds)
        with tf.GradientTape() as tape:
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(generator(z, training=True), training=True)
            d_loss = 0.5 * tf.reduce_mean(tf.square(real_logits - 1.0)) + 0.5 * tf.reduce_mean(tf.square(fake_logits))
        grads = tape.gradient(d_loss, discriminator.trainable_variables)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))
        z = keras.random.normal((batch, latent_dim), seed=seeds)
        with tf.GradientTape() as tape:
            fake_logits = discriminator(generator(z, training=True), training=True)
            g_loss = 0.5 * tf.reduce_mean(tf.square(fake_logits - 1.0))
        grads = tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}

    return lsgan_step


def update_ema(ema_generator, generator, decay=0.999):
    """Move the averaged weights towards the current ones; BatchNorm statistics are copied as they are."""
    for averaged, current in zip(ema_generator.weights, generator.weights):
        if "moving" in current.path:
            averaged.assign(current)
        else:
            averaged.assign(decay * averaged + (1.0 - decay) * current)


def run_variant(variant, x_train, checkpoints, score, seed=0, batch_size=32, lr=2e-4):
    """Train one variant; at each checkpoint (a step count) call score(generator) and keep a row."""
    import keras

    import utils

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    keras.utils.set_random_seed(seed)
    generator, discriminator = build_networks(variant)
    ema_generator = None
    if variant == "ema":
        ema_generator = keras.models.clone_model(generator)
        ema_generator.set_weights(generator.get_weights())
    g_optimizer = keras.optimizers.Adam(lr, beta_1=0.5)
    d_optimizer = keras.optimizers.Adam(lr, beta_1=0.5)
    step = make_step(variant, generator, discriminator, g_optimizer, d_optimizer, seed)
    dataset = utils.make_dataset(x_train, batch_size=batch_size, shuffle=True, seed=seed)
    step(next(iter(dataset)))  # trace before the clock starts (this first step is not counted)
    total, pending, rows, steps, seconds = max(checkpoints), sorted(checkpoints), [], 0, 0.0
    while pending:
        for batch in dataset:
            if variant == "lr_decay" and steps >= total // 2:
                rate = lr * (total - steps) / (total - total // 2)
                g_optimizer.learning_rate.assign(rate)
                d_optimizer.learning_rate.assign(rate)
            start = time.perf_counter()
            step(batch)
            if ema_generator is not None:
                update_ema(ema_generator, generator)
            seconds += time.perf_counter() - start
            steps += 1
            if steps == pending[0]:
                pending.pop(0)
                scored = ema_generator if ema_generator is not None else generator
                rows.append({"variant": variant, "seed": seed, "steps": steps, "ms_per_step": 1000 * seconds / steps,
                             **score(scored)})
                print(_line(rows[-1]), flush=True)
                if not pending:
                    break
    return rows


def _line(row):
    return (f"[{row['variant']:11s} seed {row['seed']}] {row['steps']:6d} steps ({row['ms_per_step']:.1f} ms/step)  "
            f"FID {row['fid']:6.2f}  score {row['score']:.2f}  precision {row['precision']:.2f}  "
            f"recall {row['recall']:.2f}")


def _child(args) -> int:
    """Train one variant on one thread and print its rows as JSON lines for the parent."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import utils
    from utils import metrics

    data = utils.load_mnist(verbose=False)
    x_train = utils.scale_images(data.x_train, to="tanh")
    real_test = utils.scale_images(data.x_test, to="tanh")
    classifier = metrics.get_classifier(data, verbose=False)

    def score(generator):
        result = metrics.evaluate_generator(generator, real_test, n=args.samples, classifier=classifier, seed=7)
        return {k: float(v) for k, v in result.items() if k != "n"}

    for row in run_variant(args.variant, x_train, args.steps, score, seed=args.seed):
        print(RESULT_PREFIX + json.dumps(row), flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--steps", type=int, nargs="+", default=[5000, 10000],
                        help="step counts at which every variant is scored (default 5000 10000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (default 0)")
    parser.add_argument("--jobs", type=int, default=2, help="variants trained side by side, one thread each")
    parser.add_argument("--samples", type=int, default=2000, help="generated images scored per checkpoint")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # internal: run one variant in this process
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.steps) <= 0 or args.jobs < 1:
        parser.error("--steps must be positive and --jobs at least 1")
    if args.variant:
        return _child(args)

    import utils

    print(utils.env_report(utils.load_mnist(verbose=False).source))
    runs = [(variant, seed) for seed in args.seeds for variant in args.variants]
    print(f"{len(runs)} runs, {args.jobs} at a time, one thread each; checkpoints at {args.steps} steps", flush=True)
    rows, running = [], []
    while runs or running:
        while runs and len(running) < args.jobs:
            variant, seed = runs.pop(0)
            command = [sys.executable, __file__, "--variant", variant, "--seed", str(seed),
                       "--samples", str(args.samples), "--steps", *map(str, args.steps)]
            running.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
        time.sleep(1)
        for process in [p for p in running if p.poll() is not None]:
            running.remove(process)
            out = process.stdout.read()
            if process.returncode:
                print(out)
                raise SystemExit(f"a run failed with exit code {process.returncode}: {process.args}")
            for line in out.splitlines():
                if line.startswith(RESULT_PREFIX):
                    rows.append(json.loads(line[len(RESULT_PREFIX):]))
                    print(_line(rows[-1]), flush=True)
    print_table(rows)
    return 0


def print_table(rows):
    print(f"\n  {'variant':11s} {'seed':>4s} {'steps':>6s} {'ms/step':>7s} {'FID':>7s} {'score':>6s} "
          f"{'prec.':>6s} {'recall':>6s}  change")
    for row in sorted(rows, key=lambda r: (r["steps"], list(VARIANTS).index(r["variant"]), r["seed"])):
        print(f"  {row['variant']:11s} {row['seed']:4d} {row['steps']:6d} {row['ms_per_step']:7.1f} {row['fid']:7.2f} "
              f"{row['score']:6.2f} {row['precision']:6.2f} {row['recall']:6.2f}  {VARIANTS[row['variant']]}")


if __name__ == "__main__":
    raise SystemExit(main())
