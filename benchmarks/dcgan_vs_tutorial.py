#!/usr/bin/env python3
"""Chapter 03's DCGAN versus TensorFlow's DCGAN-tutorial architecture, for an equal wall-clock budget.

Both GANs train on the same MNIST training digits (offline: the 8,000-image split of the t10k files) with the
same GradientTape step (`utils.gan.make_train_step`, non-saturating loss, logits) for the same number of
seconds on the same machine. Then a small CNN classifier, trained here on the same 8,000 digits, judges 2,000
samples of each: confidence (mean top-class probability, higher = more digit-like), class entropy (spread
over the ten digits, log 10 = 2.30 is perfectly even) and classes covered. When `utils.metrics` (chapter 07)
is present, its classifier-FID against the 2,000 held-out test digits is printed too (lower is better).

  tutorial : G Dense 7x7x256 -> ConvT 128 (5x5, s1) -> ConvT 64 (5x5, s2) -> ConvT 1 (5x5, s2, tanh),
             BN + LeakyReLU;
             D Conv 64 (5x5, s2) -> Conv 128 (5x5, s2) -> Dense, LeakyReLU + Dropout 0.3; Adam 1e-4; batch 256
  course   : G Dense 7x7x128 -> ConvT 64 (4x4, s2) -> ConvT 1 (4x4, s2, tanh),
             BN + ReLU;
             D Conv 64 (4x4, s2) -> Conv 128 (4x4, s2) -> Dense, LeakyReLU(0.2) + Dropout 0.3;
             Adam 2e-4 beta_1 0.5; batch 64; one-sided label smoothing 0.9

Run on 2 CPU cores, serialised with the other jobs:
  flock /tmp/course_cpu.lock env COURSE_DATA_DIR=/work/shared/data/mnist \
      .venv/bin/python benchmarks/dcgan_vs_tutorial.py --seconds 150
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet TensorFlow before it loads

import keras  # noqa: E402

import utils  # noqa: E402
from utils import gan  # noqa: E402

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
                     batch=256, real_label=1.0),
    "course": dict(build=lambda: (gan.build_dcgan_generator(), gan.build_dcgan_discriminator()), lr=2e-4,
                   beta_1=0.5, batch=64, real_label=0.9),
}


def train_for(name, x_train, seconds, seed):
    cfg = CONFIGS[name]
    keras.utils.set_random_seed(seed)
    g, d = cfg["build"]()
    step = gan.make_train_step(g, d, keras.optimizers.Adam(cfg["lr"], beta_1=cfg["beta_1"]),
                               keras.optimizers.Adam(cfg["lr"], beta_1=cfg["beta_1"]), real_label=cfg["real_label"],
                               seed=seed)
    dataset = utils.make_dataset(x_train, batch_size=cfg["batch"], shuffle=True, seed=seed)
    step(next(iter(dataset)))  # trace before the clock starts (same for both)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for batch in dataset:
            step(batch)
            steps += 1
            if time.perf_counter() - start >= seconds:
                break
    elapsed = time.perf_counter() - start
    return g, {"steps": steps, "seconds": elapsed, "images_seen": steps * cfg["batch"],
               "params": g.count_params() + d.count_params()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=150.0, help="training budget per model (default 150)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per model with different seeds (default 1)")
    parser.add_argument("--samples", type=int, default=2000, help="generated images judged per model")
    parser.add_argument("--save-grids", type=Path, default=None, help="folder for PNG sample grids (optional)")
    args = parser.parse_args(argv)

    data = utils.load_mnist()
    x_train = utils.scale_images(data.x_train, to="tanh")
    print(utils.env_report(data.source))
    print(f"threads: TF default; CPU cores visible: {os.cpu_count()}; budget {args.seconds:.0f} s per model")
    judge = gan.train_digit_classifier(x_train, data.y_train, epochs=5)
    real = gan.digit_quality(judge, utils.scale_images(data.x_test, to="tanh")[: args.samples])
    fid = None
    try:  # chapter 07's metrics, when present: classifier-FID and score with the course's classifier
        from utils import metrics

        course_clf = metrics.get_classifier(data, verbose=False)
        real_test = utils.scale_images(data.x_test, to="tanh")

        def fid(images):
            return metrics.classifier_fid(real_test, images, classifier=course_clf)
    except (ImportError, AttributeError) as err:
        print(f"(utils.metrics not usable here: {err}; printing the quick judge's figures only)")
    print(f"judge on real test digits: confidence {real['confidence']:.3f}, entropy {real['class_entropy']:.2f}")

    results = {name: [] for name in CONFIGS}
    for repeat in range(args.repeats):
        for name in (("tutorial", "course") if repeat % 2 == 0 else ("course", "tutorial")):
            g, info = train_for(name, x_train, args.seconds, seed=repeat)
            images = gan.generate(g, args.samples, seed=100 + repeat)
            info.update(gan.digit_quality(judge, images))
            if fid is not None:
                try:
                    info["classifier_fid"] = float(fid(images))
                except Exception as err:  # the metrics API may differ; say so instead of failing
                    print(f"  (utils.metrics.classifier_fid failed: {err})")
            results[name].append(info)
            print(f"[{name:8s} run {repeat}] {info['steps']} steps ({info['images_seen']:,} images) in "
                  f"{info['seconds']:.0f} s: confidence {info['confidence']:.3f}, class entropy "
                  f"{info['class_entropy']:.2f}, classes {info['classes']}"
                  + (f", classifier-FID {info['classifier_fid']:.2f}" if "classifier_fid" in info else ""), flush=True)
            if args.save_grids is not None:
                import matplotlib

                matplotlib.use("Agg")
                import matplotlib.pyplot as plt

                args.save_grids.mkdir(parents=True, exist_ok=True)
                utils.show_images(images[:64], f"{name}, {args.seconds:.0f} s")
                plt.savefig(args.save_grids / f"{name}_{repeat}.png", dpi=80)
                plt.close("all")

    print("\nmedians over runs:")
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], (int, float))}
        print(f"  {name:8s} steps/s {med['steps'] / med['seconds']:.1f}  confidence {med['confidence']:.3f}  "
              f"class entropy {med['class_entropy']:.2f}  classes {med['classes']:.0f}  params {med['params']:,.0f}"
              + (f"  classifier-FID {med['classifier_fid']:.2f}" if "classifier_fid" in med else ""))
    c = statistics.median(r["confidence"] for r in results["course"])
    t = statistics.median(r["confidence"] for r in results["tutorial"])
    print(f"course/tutorial confidence ratio: {c / t:.2f} ({'course better' if c > t else 'tutorial better'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
