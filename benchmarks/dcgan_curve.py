#!/usr/bin/env python3
"""What more training time buys chapter 03's DCGAN: one run scored at 10, 20 and 40 minutes of training.

The recipe is chapter 03's (the `course` config of `dcgan_vs_tutorial.py`: `utils.gan.build_dcgan_generator/
discriminator`, Adam 2e-4 beta_1 0.5, batch 32, real label 1.0, R1 penalty gamma 1, `utils.gan.make_train_step`
by way of `utils.chapters.faces.make_face_train_step`) on the same MNIST training digits (offline: the 8,000-image
split of the t10k files). The model trains once; each time its training clock passes a budget (default 600, 1200
and 2400 s) the clock stops and 2,000 samples are scored with chapter 07's metrics
(`utils.metrics.evaluate_generator`, seed 7): classifier-FID against the held-out digits (lower is better; the
real-vs-real floor at the same N is printed), the Inception-style score (real digits: about 9.6 of 10), k-NN
precision and recall. Both the raw generator and an exponential moving average of its weights
(`utils.training.WeightAverage`, updated inside the compiled step; `--ema 0` turns it off) are scored, from the
same run: the average costs a little training time, which both pay.

`--augment POLICY` adds differentiable augmentation for D (`utils.chapters.faces.diff_augment`, e.g.
translation,cutout): real and generated images are augmented alike before D, in both players' updates.
One change to the recipe at a time, for levers at equal time: `--batch`, `--d-lr` and `--g-lr` (two time-scale
rule when they differ), `--r1-gamma`, and `--r1-every K`: *lazy* R1 (StyleGAN2), the penalty with gamma x K on
every K-th step only (`utils.chapters.faces.make_face_train_step`), so most steps skip its second backward pass.
Every compiled graph is traced before the clock starts.

Run on 2 CPU cores, serialised with the other jobs (40 minutes of training plus about 2 minutes of scoring):
  flock /tmp/course_cpu.lock env COURSE_DATA_DIR=/work/shared/data/mnist \\
      .venv/bin/python benchmarks/dcgan_curve.py --budgets 600 1200 2400
  flock /tmp/course_cpu.lock env COURSE_DATA_DIR=/work/shared/data/mnist \\
      .venv/bin/python benchmarks/dcgan_curve.py --augment translation,cutout --budgets 600
  flock /tmp/course_cpu.lock env COURSE_DATA_DIR=/work/shared/data/mnist \\
      .venv/bin/python benchmarks/dcgan_curve.py --r1-every 4 --budgets 600
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet TensorFlow before it loads

import keras  # noqa: E402
from _budgets import budget_checkpoints  # noqa: E402
from _digits import classifier_and_floor, format_scores, load_digits, score_generator  # noqa: E402
from dcgan_vs_tutorial import CONFIGS  # noqa: E402

import utils  # noqa: E402
from utils.chapters import faces  # noqa: E402
from utils.training import WeightAverage  # noqa: E402


def train_curve(x_train, budgets, score, seed=0, ema=0.999, augment=None, config="course", **changes):
    """Train `config` once, with `changes` to its recipe (batch, d_lr, g_lr, r1_gamma, r1_every); at each
    budget yield a row: budget, steps, seconds, images_seen, and for "raw" (and "ema" when ema > 0) the dict
    score(generator) returns."""
    cfg = {"d_lr": CONFIGS[config]["lr"], "g_lr": CONFIGS[config]["lr"], "r1_every": 1, **CONFIGS[config]}
    unknown = set(changes) - {"batch", "d_lr", "g_lr", "r1_gamma", "r1_every"}
    if unknown:
        raise ValueError(f"unknown recipe changes: {sorted(unknown)}")
    cfg.update(changes)
    keras.utils.set_random_seed(seed)
    g, d = cfg["build"]()
    average = WeightAverage(g, ema) if ema > 0 else None
    options = {} if augment is None else {"augment": lambda x, seeds: faces.diff_augment(x, seeds, augment)}
    step = faces.make_face_train_step(g, d, keras.optimizers.Adam(cfg["g_lr"], beta_1=cfg["beta_1"]),
                                      keras.optimizers.Adam(cfg["d_lr"], beta_1=cfg["beta_1"]),
                                      real_label=cfg["real_label"], seed=seed, r1_gamma=cfg["r1_gamma"],
                                      r1_every=cfg["r1_every"], average=average, **options)
    dataset = utils.make_dataset(x_train, batch_size=cfg["batch"], shuffle=True, seed=seed)
    warmup = next(iter(dataset))
    for _ in range(min(cfg["r1_every"], 2)):  # trace before the clock starts (lazy R1 has two graphs)
        step(warmup)
    for budget, steps, seconds in budget_checkpoints(step, dataset, budgets):
        row = {"budget": budget, "steps": steps, "seconds": seconds, "images_seen": steps * cfg["batch"],
               "raw": score(g)}
        if average is not None:
            row["ema"] = score(average.average)
        yield row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", type=float, nargs="+", default=[600.0, 1200.0, 2400.0],
                        help="training seconds at which the model is scored (default 600 1200 2400)")
    parser.add_argument("--samples", type=int, default=2000, help="generated images scored per budget (<= 2000)")
    parser.add_argument("--ema", type=float, default=0.999,
                        help="decay of the generator's weight average (default 0.999; 0 = no average)")
    parser.add_argument("--augment", metavar="POLICY", default=None,
                        help="differentiable augmentation for D, e.g. translation,cutout (default none)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, batches and noise (default 0)")
    course = CONFIGS["course"]
    parser.add_argument("--batch", type=int, default=course["batch"], help="batch size (default 32)")
    parser.add_argument("--d-lr", type=float, default=course["lr"], help="D's Adam learning rate (default 2e-4)")
    parser.add_argument("--g-lr", type=float, default=course["lr"], help="G's Adam learning rate (default 2e-4)")
    parser.add_argument("--r1-gamma", type=float, default=course["r1_gamma"], help="R1 penalty weight (default 1)")
    parser.add_argument("--r1-every", type=int, default=1, metavar="K",
                        help="lazy R1: the penalty (gamma x K) every K-th step only (default 1: every step)")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.r1_every < 1:
        parser.error("--batch and --r1-every must be whole numbers >= 1")
    if not (args.d_lr > 0 and args.g_lr > 0 and args.r1_gamma >= 0):  # also rejects nan
        parser.error("learning rates must be positive and --r1-gamma must be >= 0")
    if min(args.budgets) <= 0:
        parser.error("budgets must be positive numbers of seconds")
    if not 0.0 <= args.ema < 1.0:
        parser.error("--ema must be in [0, 1)")
    if args.augment:
        try:  # a typo in the policy should fail now, not after the data and classifier have loaded
            faces.diff_augment(keras.ops.zeros((1, 28, 28, 1)), keras.random.SeedGenerator(0), args.augment)
        except ValueError as error:
            parser.error(str(error))

    data, x_train, real_test = load_digits(parser, args.samples)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(utils.env_report(data.source))
    print(f"started {started}; CPU cores visible: {os.cpu_count()}; budgets "
          f"{', '.join(f'{b:.0f}' for b in sorted(args.budgets))} s; EMA decay {args.ema or 'off'}; "
          f"augmentation {args.augment or 'none'}; seed {args.seed}; batch {args.batch}, D lr {args.d_lr:g}, "
          f"G lr {args.g_lr:g}, R1 gamma {args.r1_gamma:g} every {args.r1_every} step(s)")
    classifier, floor = classifier_and_floor(data, x_train, real_test, args.samples)

    def score(generator):
        return score_generator(generator, real_test, args.samples, classifier)

    rows = []
    changes = dict(batch=args.batch, d_lr=args.d_lr, g_lr=args.g_lr, r1_gamma=args.r1_gamma,
                   r1_every=args.r1_every)
    for row in train_curve(x_train, args.budgets, score, seed=args.seed, ema=args.ema, augment=args.augment,
                           **changes):
        rows.append(row)
        print(f"{row['budget']:5.0f} s: {row['steps']:6d} steps ({row['images_seen']:,} images)", flush=True)
        for kind in ("raw", "ema"):
            if kind in row:
                print(f"    {kind} G: {format_scores(row[kind])}", flush=True)

    print(f"\nsummary (N={args.samples}; floor FID {floor['fid']:.2f}, score {floor['score']:.2f}, "
          f"precision {floor['precision']:.2f}, recall {floor['recall']:.2f}):")
    print(f"  {'budget':>6s} {'steps':>7s} {'G':>4s} {'FID':>7s} {'score':>6s} {'prec.':>6s} {'recall':>6s}")
    for row in rows:
        for kind in ("raw", "ema"):
            if kind in row:
                v = row[kind]
                print(f"  {row['budget']:6.0f} {row['steps']:7d} {kind:>4s} {v['fid']:7.2f} {v['score']:6.2f} "
                      f"{v['precision']:6.2f} {v['recall']:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
