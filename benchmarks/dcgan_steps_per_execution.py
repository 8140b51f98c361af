#!/usr/bin/env python3
"""Chapter 03's `fit()` run with `compile(steps_per_execution=N)`: more steps, and better digits, in the same time?

`steps_per_execution=N` makes `fit()` run N training steps inside one compiled call instead of returning to
Python after each: the update itself does not change, only the overhead around it (section 4a of
docs/results.md measured 1.22x the images/s for chapter 03 with N = 8 on 2 cores). This script checks what
that buys in quality, the way chapter 03 trains: `utils.gan.GAN` (the same step as the chapter's `DCGAN`
model) with chapter 03's recipe (the `course` config of `dcgan_vs_tutorial.py`: G 64 / D 32 filters, Adam
2e-4 beta_1 0.5, batch 32, real label 1.0, R1 gamma 1), `fit()` stopped by `utils.training.TimeBudget`
after `--budget` seconds (default 450, the chapter's full-mode budget; the clock includes tracing, as in the
chapter), on the same MNIST training digits (offline: the 8,000-image split of the t10k files). Each run's
generator is then scored with 2,000 samples and chapter 07's metrics (`utils.metrics.evaluate_generator`,
noise seed 7): classifier-FID against the held-out digits (the real-vs-real floor at the same N is printed),
the Inception-style score, k-NN precision and recall.

The runs of one seed share their initial weights, batches and noise stream, so they follow the same training
path and the setting with more steps simply gets further along it in the same time: read small FID gaps as noise
(a GAN's FID wobbles from checkpoint to checkpoint) unless several seeds agree. The order of the settings is
reversed on every second seed (1, 8; then 8, 1), so a steady drift of a shared machine's speed does not always
fall on the same setting. Unlike the chapter, no progress callbacks run inside the budget, so compare the step
counts with each other, not with the chapter's.

Run on 2 CPU cores, serialised with the other jobs (about 8 minutes a run):
  flock /tmp/course_cpu.lock env COURSE_DATA_DIR=/work/shared/data/mnist \\
      .venv/bin/python benchmarks/dcgan_steps_per_execution.py --spe 1 8 --seeds 0 1
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet TensorFlow before it loads

import keras  # noqa: E402
from _digits import classifier_and_floor, format_scores, load_digits, score_generator  # noqa: E402
from dcgan_vs_tutorial import CONFIGS  # noqa: E402

import utils  # noqa: E402
from utils import gan, training  # noqa: E402


def train_with_fit(x_train, budget, steps_per_execution, seed=0, config="course"):
    """Train `config` with `fit()` for `budget` seconds; return (the `GAN` model, steps, seconds)."""
    cfg = CONFIGS[config]
    keras.utils.set_random_seed(seed)
    g, d = cfg["build"]()
    model = gan.GAN(g, d, real_label=cfg["real_label"], r1_gamma=cfg["r1_gamma"], seed=seed)
    model.compile(d_optimizer=keras.optimizers.Adam(cfg["lr"], beta_1=cfg["beta_1"]),
                  g_optimizer=keras.optimizers.Adam(cfg["lr"], beta_1=cfg["beta_1"]),
                  steps_per_execution=steps_per_execution)
    dataset = utils.make_dataset(x_train, batch_size=cfg["batch"], shuffle=True, seed=seed)
    start = time.perf_counter()
    model.fit(dataset, epochs=1_000_000, verbose=0, shuffle=False, callbacks=[training.TimeBudget(budget)])
    seconds = time.perf_counter() - start
    return model, int(model.d_optimizer.iterations), seconds  # one D update per step


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spe", type=int, nargs="+", default=[1, 8],
                        help="steps_per_execution values to compare (default 1 8)")
    parser.add_argument("--budget", type=float, default=450.0,
                        help="seconds of fit() per run (default 450, chapter 03's full mode)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="seeds of weights, batches and noise, each >= 0 (default 0)")
    parser.add_argument("--samples", type=int, default=2000, help="generated images scored per run (<= 2000)")
    args = parser.parse_args(argv)
    if not math.isfinite(args.budget) or args.budget <= 0:
        parser.error("--budget must be a positive, finite number of seconds")
    if min(args.spe) < 1:
        parser.error("--spe values must be at least 1 (1 is fit()'s default: one step per call)")
    if min(args.seeds) < 0:
        parser.error("--seeds must be whole numbers >= 0 (Keras's seeds are unsigned)")

    data, x_train, real_test = load_digits(parser, args.samples)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(utils.env_report(data.source))
    print(f"started {started}; CPU cores visible: {os.cpu_count()}; budget {args.budget:.0f} s; "
          f"steps_per_execution {args.spe}; seeds {args.seeds}")
    classifier, floor = classifier_and_floor(data, x_train, real_test, args.samples)

    rows = []
    for i, seed in enumerate(args.seeds):
        for spe in args.spe if i % 2 == 0 else args.spe[::-1]:  # reversed every second seed
            model, steps, seconds = train_with_fit(x_train, args.budget, spe, seed=seed)
            scores = score_generator(model.generator, real_test, args.samples, classifier)
            row = {"seed": seed, "spe": spe, "steps": steps, "seconds": seconds, **scores}
            rows.append(row)
            print(f"seed {seed}, steps_per_execution {spe}: {steps:,} steps in {seconds:.0f} s "
                  f"({steps / seconds:.1f} steps/s)  {format_scores(scores)}", flush=True)

    print(f"\nsummary (N={args.samples}; floor FID {floor['fid']:.2f}):")
    print(f"  {'spe':>4s} {'seed':>5s} {'steps':>7s} {'steps/s':>8s} {'FID':>7s} {'score':>6s} {'prec.':>6s} "
          f"{'recall':>6s}")
    for row in rows:
        print(f"  {row['spe']:4d} {row['seed']:5d} {row['steps']:7d} {row['steps'] / row['seconds']:8.1f} "
              f"{row['fid']:7.2f} {row['score']:6.2f} {row['precision']:6.2f} {row['recall']:6.2f}")
    for spe in args.spe:
        mine = [r for r in rows if r["spe"] == spe]
        print(f"  median over seeds, steps_per_execution {spe}: {statistics.median(r['steps'] for r in mine):,.0f} "
              f"steps, FID {statistics.median(r['fid'] for r in mine):.2f}, "
              f"score {statistics.median(r['score'] for r in mine):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
