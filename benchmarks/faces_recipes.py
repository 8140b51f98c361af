#!/usr/bin/env python3
"""Chapter 06's face GAN: which recipe draws the best faces in the same CPU time? One change at a time.

Every recipe trains on the same 8,000 procedural faces (seed 1, chapter 06's training set) for the same
wall-clock budget (`--budget`, default 200 s of training steps, on all the cores this process sees), and is
scored with chapter 06's face yardstick (`utils.chapters.face_metrics`): face-FID in the face classifier's
64 features against 1,000 held-out faces (seed 3), k-NN precision/recall, and the total variation gap of
the attribute mix (hair style, mouth, glasses, skin tone). Every run also keeps exponential moving averages
of G's weights (`utils.training.WeightAverage`, the decays and warm-ups of AVERAGES) and scores them too: they cost no
training steps, only the update.

  chapter06  chapter 06's first recipe, the base of every other: resize-convolution G with 192 filters,
             spectrally normalised D with 32, batch 64, Adam 2e-4 / beta_1 0.5 for both, one-sided label
             smoothing (real label 0.9)
  diffaug    + differentiable augmentation of every image D sees (`utils.chapters.faces.diff_augment`, policy
             color,translation,cutout; Zhao et al., 2020)
  g128       G with 128 filters (fewer multiply-adds, more steps)
  d64        D with 64 filters (a stronger critic, fewer steps)
  batch32    batches of 32 (twice the steps, noisier)
  batch128   batches of 128
  lr4e-4     both learning rates 4e-4
  ttur       D 4e-4, G 1e-4 (two time-scale update rule, Heusel et al., 2017)
  batch32-decay  batches of 32, both learning rates decaying linearly to 0 over 2,000 steps (chapter 06's run then)
  batch32-r1     batches of 32 + R1 penalty on real images, gamma 1 (as chapter 03)
  batch32-d64    batches of 32 + D with 64 filters
  batch32-r1-g0.25, batch32-r1-g2, batch32-r1-g4   batch32-r1 with a weaker (gamma 0.25) or stronger
                 (2, 4) R1 penalty; batch32-r1-g2, scored with --refresh-bn, is chapter 06's recipe now
  batch32-r1-bilinear  batch32-r1 with bilinear instead of nearest-neighbour resizing in G
  batch32-r1-lazy4     batch32-r1 with lazy R1: the penalty (gamma 4) every 4th step only
  batch32-r1-full16    batch32-r1 with one more convolution in G at 64x64 (16 filters)
  batch32-r1-g2-blur   chapter 06's recipe now with a blur schedule: every image D sees (real and fake, in D's
                 and G's step) is blurred (`faces.make_face_train_step(blur_sigma=2, blur_fade_steps=500)`:
                 sigma 2 pixels at step 0, fading linearly to none at step 500; StyleGAN3's schedule), so D
                 judges the coarse layout first: a resolution
                 schedule at the same cost per step (batch32-r1-g2-grow grows the networks instead)
  batch32-r1-g2-aa     chapter 06's recipe now with an anti-aliased D: a fixed binomial blur before every stride-2
                 convolution (`faces.build_face_discriminator(antialias=True)`, as StyleGAN2's D), against the
                 checkered speckle of the grids
  batch32-r1-g2-aa-bilinear  the anti-aliased D with bilinear resizing in G (StyleGAN2 low-passes both networks)
  batch32-r1-g2-grow   chapter 06's recipe now on a growing network (`faces.make_growing_train_step`,
                 progressive growing, Karras et al., 2018): 500 steps at 32x32 (G's layers up to 32x32 with a
                 1x1 to-RGB convolution, D's layers after its first block behind a 1x1 from-RGB one, real faces
                 average-pooled), 500 steps fading the 64x64 layers in, then chapter 06's own networks. Scored
                 marks before step 1,000 score G's 64x64 output, which the first 500 steps do not train
  batch32-r1-g2-grow250  the same with 250 steps at 32x32 and 250 fading

Run alone on the machine (or serialised: other jobs slow the steps and the comparison is then unfair):
  flock /tmp/course_cpu.lock .venv/bin/python benchmarks/faces_recipes.py --budget 200
The curve of chapter 06's first recipe over its own budget, two seeds, scored every two minutes:
  flock /tmp/course_cpu.lock .venv/bin/python benchmarks/faces_recipes.py --recipes chapter06 \
      --budget 480 --score-at 120 240 360 --seeds 0 1
With --refresh-bn, each average is also scored with its BatchNorm statistics recomputed (a copy).
A stopping rule: with --validate, every run is also scored at each mark on 500 *validation* faces (seed 4);
for the last weights and each average it then prints the held-out row of the mark validation picked
(`face_metrics.BestOnValidation`, what chapter 06 keeps):
  flock /tmp/course_cpu.lock .venv/bin/python benchmarks/faces_recipes.py --recipes chapter06 --seeds 42 \
      --budget 600 --score-at $(seq 40 40 560) --validate --averages 0.999/4
With --grids FOLDER (and --validate), each run's kept generator also draws 64 faces from chapter 06's grid
noise into FOLDER/RECIPE_seedS.png, to set beside the chapter's stored grid.
Chapter 06's recipe now, as its notebook keeps it (docs/results.md, section 7g):
  flock /tmp/course_cpu.lock .venv/bin/python benchmarks/faces_recipes.py --recipes batch32-r1-g2 --seeds 42 \
      --budget 420 --score-at $(seq 40 40 400) --validate --averages 0.999/4 --refresh-bn
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet TensorFlow before it loads
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _budgets import budget_checkpoints  # noqa: E402

BASE = dict(g_filters=192, d_filters=32, batch=64, g_lr=2e-4, d_lr=2e-4, augment=None, decay_steps=None,
            r1_gamma=0.0, r1_every=1, upsampling="resize", full_res_filters=0, blur_sigma=0.0, blur_fade=0,
            d_antialias=False, grow_low=0, grow_fade=0)
RECIPES = {
    "chapter06": {},
    "diffaug": dict(augment="color,translation,cutout"),
    "g128": dict(g_filters=128),
    "d64": dict(d_filters=64),
    "batch32": dict(batch=32),
    "batch128": dict(batch=128),
    "lr4e-4": dict(g_lr=4e-4, d_lr=4e-4),
    "ttur": dict(g_lr=1e-4, d_lr=4e-4),
    "batch32-decay": dict(batch=32, decay_steps=2000),
    "batch32-r1": dict(batch=32, r1_gamma=1.0),
    "batch32-d64": dict(batch=32, d_filters=64),
    "batch32-r1-g0.25": dict(batch=32, r1_gamma=0.25),
    "batch32-r1-g2": dict(batch=32, r1_gamma=2.0),
    "batch32-r1-g4": dict(batch=32, r1_gamma=4.0),
    "batch32-r1-bilinear": dict(batch=32, r1_gamma=1.0, upsampling="bilinear"),
    "batch32-r1-lazy4": dict(batch=32, r1_gamma=1.0, r1_every=4),
    "batch32-r1-full16": dict(batch=32, r1_gamma=1.0, full_res_filters=16),
    "batch32-r1-g2-blur": dict(batch=32, r1_gamma=2.0, blur_sigma=2.0, blur_fade=500),
    "batch32-r1-g2-aa": dict(batch=32, r1_gamma=2.0, d_antialias=True),
    "batch32-r1-g2-aa-bilinear": dict(batch=32, r1_gamma=2.0, d_antialias=True, upsampling="bilinear"),
    "batch32-r1-g2-grow": dict(batch=32, r1_gamma=2.0, grow_low=500, grow_fade=500),
    "batch32-r1-g2-grow250": dict(batch=32, r1_gamma=2.0, grow_low=250, grow_fade=250),
}
# (decay, warmup) of each weight average: d = min(decay, (1 + n) / (warmup + n)) at step n. Warmup 10 counts
# about the last n / 9 steps (so 0.995 and 0.999 coincide below about 1,900 steps), warmup 4 (chapter 06's)
# about the last n / 3, warmup 2 every step alike (the untrained start too).
AVERAGES = ((0.99, 10), (0.995, 10), (0.999, 4), (0.999, 2))


def train(recipe: str, train_faces, budgets, seed: int = 0, averages=AVERAGES):
    """Train one recipe; each time its training time passes one of `budgets` (seconds), yield
    (budget, steps, generator, averages). Only the steps are timed (`_budgets.budget_checkpoints`), so
    scoring at a budget costs no training time: one run scored at 120, 240 and 480 s is its curve."""
    import keras

    from utils import training
    from utils.chapters import faces

    cfg = {**BASE, **RECIPES[recipe]}
    keras.utils.set_random_seed(seed)
    generator = faces.build_face_generator(filters=cfg["g_filters"], upsampling=cfg["upsampling"],
                                           full_res_filters=cfg["full_res_filters"])
    discriminator = faces.build_face_discriminator(cfg["d_filters"], antialias=cfg["d_antialias"])
    averages = [training.WeightAverage(generator, decay, warmup) for decay, warmup in averages]
    options = {}
    if cfg["augment"]:
        options["augment"] = lambda images, seeds: faces.diff_augment(images, seeds, cfg["augment"])
    def adam(rate):
        if cfg["decay_steps"]:  # linear decay to 0, then 0 (a run past decay_steps stops learning)
            rate = keras.optimizers.schedules.PolynomialDecay(rate, cfg["decay_steps"], end_learning_rate=0.0)
        return keras.optimizers.Adam(rate, beta_1=0.5)

    options.update(seed=seed, r1_gamma=cfg["r1_gamma"], r1_every=cfg["r1_every"], average=averages)
    optimizers = adam(cfg["g_lr"]), adam(cfg["d_lr"])
    batches = _dataset(train_faces, cfg["batch"], seed)
    if cfg["grow_low"]:  # 32x32 first: three phases, each compiled before the clock starts, none trained
        step = faces.make_growing_train_step(generator, discriminator, *optimizers, low_steps=cfg["grow_low"],
                                             fade_steps=cfg["grow_fade"], **options)
        step.trace(next(iter(batches)))
    else:
        step = faces.make_face_train_step(generator, discriminator, *optimizers, blur_sigma=cfg["blur_sigma"],
                                          blur_fade_steps=cfg["blur_fade"], **options)
        for _ in range(2):  # trace before the clock starts (lazy R1 has two graphs: with and without the penalty)
            step(next(iter(batches)))
    for budget, steps, _ in budget_checkpoints(step, batches, budgets):
        yield budget, steps, generator, averages


def _dataset(images, batch: int, seed: int):
    import utils

    return utils.make_dataset(images, batch_size=batch, shuffle=True, seed=seed).repeat()


def _save_grid(generator, path: Path, title: str) -> None:
    """64 faces of `generator` from chapter 06's grid noise (its first 64 vectors of seed 7), saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from utils.plotting import show_images

    noise = np.random.default_rng(7).standard_normal((256, generator.input_shape[-1])).astype("float32")[:64]
    path.parent.mkdir(parents=True, exist_ok=True)
    axis = show_images(generator.predict(noise, verbose=0), title, ncols=8, size=9, value_range="tanh")
    axis.figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(axis.figure)
    print(f"saved {path}")


def _line(name, steps, result):
    gap = max(result["gaps"].values())
    return (f"  {name:36s} {steps:6d} {result['fid']:8.2f} {result['precision']:6.2f} {result['recall']:6.2f} "
            f"{gap:8.2f} {result['glasses']:8.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES))
    parser.add_argument("--budget", type=float, default=200.0, help="training seconds per recipe (default 200)")
    parser.add_argument("--samples", type=int, default=1000, help="faces scored per model (<= 1000)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (default 0)")
    parser.add_argument("--faces", type=int, default=8000, help="training faces (default 8000, as chapter 06)")
    parser.add_argument("--score-at", type=float, nargs="*", default=[],
                        help="also score each run when its training time passes these seconds "
                             "(the curve of one run; default: only at the end)")
    parser.add_argument("--averages", nargs="*", metavar="DECAY/WARMUP",
                        default=[f"{d:g}/{w:g}" for d, w in AVERAGES],
                        help="weight averages to keep and score (default: all of AVERAGES)")
    parser.add_argument("--refresh-bn", action="store_true",
                        help="also score a copy of each average whose BatchNorm statistics are recomputed on "
                             "1,000 latent vectors (`face_metrics.refreshed_generator`)")
    parser.add_argument("--validate", action="store_true",
                        help="also score every mark on validation faces (seed 4) and print, per model, "
                             "the held-out row of the mark with the best validation face-FID")
    parser.add_argument("--grids", type=Path, metavar="FOLDER",
                        help="with --validate: save 64 faces of the generator each run's rule kept (its last model, "
                             "the refreshed average with --refresh-bn) as FOLDER/RECIPE_seedS.png, drawn from "
                             "chapter 06's grid noise (seed 7), to compare grids by eye")
    args = parser.parse_args(argv)
    if args.grids and not args.validate:
        parser.error("--grids saves the generator the rule kept: add --validate")
    if args.budget <= 0 or not 3 < args.samples <= 1000:
        parser.error("--budget must be positive and --samples between 4 and 1000")
    try:
        averages = [tuple(float(x) for x in text.split("/")) for text in args.averages]
    except ValueError:
        averages = [()]
    if any(len(a) != 2 for a in averages):  # an explicit check: asserts vanish under python -O
        parser.error(f"--averages takes DECAY/WARMUP pairs such as 0.999/4, got {args.averages}")

    import utils
    from utils.chapters import face_metrics, faces

    print(utils.env_report(f"{args.faces} procedural faces (seed 1)"))
    print(f"CPU cores visible: {os.cpu_count()}; {args.budget:.0f} s of training per recipe and seed")
    classifier = face_metrics.get_face_classifier()
    real, _ = face_metrics.labelled_faces(args.samples, face_metrics.REFERENCE_SEED)
    train_faces = faces.procedural_faces(args.faces, seed=1)
    floor = face_metrics.evaluate_faces(train_faces[:args.samples], real, classifier=classifier)
    header = (f"  {'model':36s} {'steps':>6s} {'face-FID':>8s} {'prec.':>6s} {'recall':>6s} "
              f"{'attr.gap':>8s} {'glasses':>8s}")
    print(header)
    held_out_glasses = floor["real_shares"]["glasses"][1]
    print(_line("real (training faces)", 0, floor) + f"   (held-out glasses share {held_out_glasses:.2f})")
    rows, picked = [], []

    def score(label, steps, models, selectors):
        for (name, model), selector in zip(models, selectors):
            result = face_metrics.evaluate_faces(model, real, classifier=classifier, seed=7)
            rows.append((f"{label} {name}", steps, result))
            validation = f"   validation {selector.check(steps):7.2f}" if selector else ""
            print(_line(*rows[-1]) + validation, flush=True)

    def with_refreshed(models, copies):
        """Each average, then (with --refresh-bn) a copy of it with BatchNorm statistics recomputed; the copy
        made at the first mark is updated at the next ones, so --validate's selectors see the same model."""
        for name, model in list(models):
            if args.refresh_bn and name.startswith("EMA"):
                refreshed = face_metrics.refreshed_generator(model)
                copies.setdefault(name, refreshed).set_weights(refreshed.get_weights())
                models.append((f"{name} +BN", copies[name]))
        return models

    budgets = sorted({b for b in args.score_at if b < args.budget} | {args.budget})
    for seed in args.seeds:
        for recipe in args.recipes:
            selectors, first_row, copies = None, len(rows), {}
            for budget, steps, generator, kept in train(recipe, train_faces, budgets, seed, averages):
                models = [("last", generator)] + [(f"EMA {a.decay:g}/w{a.warmup:g}", a.average) for a in kept]
                models = with_refreshed(models, copies)
                if selectors is None:
                    selectors = [face_metrics.BestOnValidation(m, classifier=classifier) if args.validate
                                 else None for _, m in models]
                score(f"{recipe} (seed {seed}) {budget:g} s", steps, models, selectors)
            for index, selector in enumerate(selectors if args.validate else []):
                run_rows = rows[first_row + index::len(selectors)]
                name, _, result = next(r for r in run_rows if r[1] == selector.best_step)
                picked.append((f"{name} (picked)", selector.best_step, result))
            if args.grids:
                _save_grid(selectors[-1].best, args.grids / f"{recipe}_seed{seed}.png",
                           f"{recipe}, seed {seed}: kept at step {selectors[-1].best_step}")
    if picked:
        print("\nthe mark validation picked, per run and model (held-out scores):")
        print(header)
        for row in picked:
            print(_line(*row))
    print("\nall runs, best face-FID first:")
    print(header)
    for row in sorted(rows, key=lambda r: r[2]["fid"]):
        print(_line(*row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
