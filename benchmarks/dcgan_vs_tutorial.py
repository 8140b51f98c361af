#!/usr/bin/env python3
"""Chapter 03's DCGAN versus TensorFlow's DCGAN-tutorial architecture, for equal wall-clock budgets.

Both GANs train on the same MNIST training digits (offline: the 8,000-image split of the t10k files) with the
same GradientTape step (`utils.gan.make_train_step`, non-saturating loss, logits) on the same machine. Each
model trains once; when its training clock passes each budget (default 150, 300 and 600 s) the clock stops,
2,000 samples are scored, and training goes on. With a constant learning rate this is the same as separate
runs per budget, at a third of the cost. Scores come from chapter 07 (`utils.metrics.evaluate_generator`,
classifier cached under artifacts/): classifier-FID against the 2,000 held-out digits (lower is better), the
Inception-style score (real held-out digits: about 9.6 of 10), and k-NN precision and recall.

  tutorial : G Dense 7x7x256 -> ConvT 128 (5x5, s1) -> ConvT 64 (5x5, s2) -> ConvT 1 (5x5, s2, tanh),
             BN + LeakyReLU; D Conv 64 (5x5, s2) -> Conv 128 (5x5, s2) -> Dense, LeakyReLU + Dropout 0.3;
             Adam 1e-4; batch 256
  course   : chapter 03's recipe, `utils.gan.build_dcgan_generator/discriminator` defaults:
             G Dense 7x7x64 -> ConvT 32 (4x4, s2) -> ConvT 1 (4x4, s2, tanh), BN + ReLU;
             D Conv 32 (4x4, s2) -> Conv 64 (4x4, s2) -> Dense, LeakyReLU(0.2), no dropout;
             Adam 2e-4 beta_1 0.5; batch 32; real label 1.0; R1 penalty on D, gamma 1

Run on an otherwise idle machine (on 2 CPU cores about 2 x 10 minutes plus scoring):
  COURSE_DATA_DIR=/path/to/mnist python benchmarks/dcgan_vs_tutorial.py --budgets 150 300 600
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet TensorFlow before it loads

import keras  # noqa: E402

import utils  # noqa: E402
from utils import gan  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package
from _budgets import budget_checkpoints  # noqa: E402

L = keras.layers


def tutorial_generator(latent_dim=100):
    return keras.Sequential([
        keras.Input((latent_dim,)),
        L.Dense(7 * 7 * 256, use_bias=False), L.BatchNormalization(), L.LeakyReLU(), L.Reshape((7, 7, 256)),
        L.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False), L.BatchNormalization(), L.LeakyReLU(),
        L.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False), L.BatchNormalization(), L.LeakyReLU(),
        L.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
    ], name="tutorial_generator")


def tutorial_discriminator():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(64, 5, strides=2, padding="same"), L.LeakyReLU(), L.Dropout(0.3),
        L.Conv2D(128, 5, strides=2, padding="same"), L.LeakyReLU(), L.Dropout(0.3),
        L.Flatten(), L.Dense(1),
    ], name="tutorial_discriminator")


CONFIGS = {
    "tutorial": dict(build=lambda: (tutorial_generator(), tutorial_discriminator()), lr=1e-4, beta_1=0.9,
                     batch=256, real_label=1.0, r1_gamma=0.0),
    "course": dict(build=lambda: (gan.build_dcgan_generator(), gan.build_dcgan_discriminator()), lr=2e-4,
                   beta_1=0.5, batch=32, real_label=1.0, r1_gamma=1.0),
}


def train_and_score(name, x_train, budgets, score, seed):
    """Train one model; at each budget (seconds of training) pause the clock and call score(generator)."""
    cfg = CONFIGS[name]
    keras.utils.set_random_seed(seed)
    g, d = cfg["build"]()
    step = gan.make_train_step(g, d, keras.optimizers.Adam(cfg["lr"], beta_1=cfg["beta_1"]),
                               keras.optimizers.Adam(cfg["lr"], beta_1=cfg["beta_1"]), real_label=cfg["real_label"],
                               seed=seed, r1_gamma=cfg["r1_gamma"])
    dataset = utils.make_dataset(x_train, batch_size=cfg["batch"], shuffle=True, seed=seed)
    step(next(iter(dataset)))  # trace before the clock starts (same for both)
    rows = []
    for budget, steps, seconds in budget_checkpoints(step, dataset, budgets):
        rows.append({"model": name, "budget": budget, "steps": steps, "seconds": seconds,
                     "images_seen": steps * cfg["batch"], **score(g)})
        print(_line(rows[-1], seed), flush=True)
    return rows


def _line(row, seed):
    return (f"[{row['model']:8s} seed {seed}] {row['budget']:4.0f} s: {row['steps']:6d} steps "
            f"({row['images_seen']:,} images)  FID {row['fid']:6.2f}  score {row['score']:.2f}  "
            f"precision {row['precision']:.2f}  recall {row['recall']:.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", type=float, nargs="+", default=[150.0, 300.0, 600.0],
                        help="training seconds at which each model is scored (default 150 300 600)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per model with different seeds (default 1)")
    parser.add_argument("--samples", type=int, default=2000, help="generated images scored per budget (<= 2000)")
    parser.add_argument("--models", nargs="+", choices=sorted(CONFIGS), default=["tutorial", "course"])
    args = parser.parse_args(argv)
    if min(args.budgets) <= 0:
        parser.error("budgets must be positive numbers of seconds")

    from utils import metrics

    data = utils.load_mnist()
    x_train = utils.scale_images(data.x_train, to="tanh")
    real_test = utils.scale_images(data.x_test, to="tanh")
    print(utils.env_report(data.source))
    print(f"CPU cores visible: {os.cpu_count()}; budgets {', '.join(f'{b:.0f}' for b in sorted(args.budgets))} s")
    classifier = metrics.get_classifier(data, verbose=True)
    if not 3 < args.samples <= len(real_test):
        parser.error(f"--samples must be between 4 and {len(real_test)} (the held-out digits)")
    floor = metrics.evaluate_generator(x_train[: args.samples], real_test, n=args.samples, classifier=classifier)
    print(f"real digits (training split) against the held-out ones, N={args.samples}: FID floor {floor['fid']:.2f}, "
          f"score {floor['score']:.2f}, precision {floor['precision']:.2f}, recall {floor['recall']:.2f}")

    def score(generator):
        result = metrics.evaluate_generator(generator, real_test, n=args.samples, classifier=classifier, seed=7)
        return {k: float(v) for k, v in result.items() if k != "n"}

    rows = []
    for repeat in range(args.repeats):
        order = args.models if repeat % 2 == 0 else args.models[::-1]
        for name in order:
            rows += train_and_score(name, x_train, args.budgets, score, seed=repeat)

    print("\nmedians over runs:")
    print(f"  {'model':8s} {'budget':>6s} {'steps':>7s} {'FID':>7s} {'score':>6s} {'prec.':>6s} {'recall':>6s}")
    for budget in sorted(args.budgets):
        for name in args.models:
            mine = [r for r in rows if r["model"] == name and r["budget"] == budget]
            med = {k: statistics.median(r[k] for r in mine) for k in ("steps", "fid", "score", "precision", "recall")}
            print(f"  {name:8s} {budget:6.0f} {med['steps']:7.0f} {med['fid']:7.2f} {med['score']:6.2f} "
                  f"{med['precision']:6.2f} {med['recall']:6.2f}")
        if {"course", "tutorial"} <= set(args.models):
            fids = {n: statistics.median(r["fid"] for r in rows if r["model"] == n and r["budget"] == budget)
                    for n in ("course", "tutorial")}
            verdict = "course better" if fids["course"] < fids["tutorial"] else "tutorial better"
            print(f"  at {budget:.0f} s: FID tutorial/course = {fids['tutorial'] / fids['course']:.1f}x ({verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
