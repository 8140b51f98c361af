#!/usr/bin/env python3
"""Chapter 10's table at equal training time: MLP GAN, DCGAN and VAE trained for the diffusion model's budget.

Chapter 10 (section 7) scores each family's saved model at its own chapter's budget. This script
trains chapter 02's MLP GAN, chapter 03's DCGAN and chapter 04's VAE, one after the other on the
same machine, each for --budget seconds of wall-clock training (default 240 s, the budget chapter
10's notebook trains its U-Net for), with their chapters'
recipes built from `utils`:

  MLP GAN (02): `gan.build_mlp_generator/discriminator` (256/512 and 512/256 units, dropout 0.3),
                `gan.make_train_step`, Adam 2e-4 beta_1 0.5 for both, batch 64, chapter 02's loop
                over shuffled epochs (the clock is checked after every step)
  DCGAN (03):   `gan.build_dcgan_generator/discriminator` (64 / 32 filters), `gan.GAN` with R1
                gamma 1 and real label 1.0, Adam 2e-4 beta_1 0.5 for both, batch 32, `fit()` with
                `compile(steps_per_execution=8)` (chapter 03's; --dcgan-spe 1 gives one step per call),
                stopped by `training.TimeBudget`
  VAE (04):     `vae.build_encoder/decoder` (latent 16), `vae.VAE`, Adam 1e-3, batch 128, dynamic
                binarisation, KL warm-up from 0.1 to 1 over 10 epochs (`vae.KLWarmup`), `fit()`
                stopped by `training.TimeBudget` (chapter 04's per-epoch validation, which does not
                change the weights, is left out)

It then loads chapter 10's saved diffusion model (`artifacts/10_diffusion/unet.keras` and
`schedule.json`, whose training time is read from its `history.json`) and scores all four as chapter
10's section 7 does: --samples images (default 1,000, the chapter's N_EVAL) against as many held-out
digits, chapter 07's classifier-FID, score and k-NN precision/recall (k = 3), GAN/VAE samples from
`metrics.sample_generator(seed=1)`, diffusion unconditional with DDIM 20 steps (eta 0) and DDPM (all
T steps, as printed in the paper and with each step's x0_hat clipped to [-1, 1]), noise seed 10;
the sampling time per 1,000 images is measured after a warm-up call. Nothing
is saved: the chapters' artifacts are left as they are.

    COURSE_DATA_DIR=/path/to/mnist python benchmarks/families_equal_time.py --budget 240
    python benchmarks/families_equal_time.py --budget 3 --samples 200     # a quick check
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet TensorFlow before it loads

import keras  # noqa: E402

import utils  # noqa: E402
from utils import gan, metrics, training, vae  # noqa: E402

K = 3  # neighbours for precision / recall, as in chapters 07 and 10
DDIM_STEPS = 20  # chapter 10's MAIN_STEPS in full mode
DIFFUSION_SEED = 10  # chapter 10's sampling seed
FAMILY_SEED = 1  # chapter 10 draws the GAN / VAE samples with seed 1


def train_mlp_gan(x_tanh, budget, seed=0):
    """Chapter 02's recipe for `budget` seconds; returns (generator, steps, seconds)."""
    keras.utils.set_random_seed(42 + seed)
    g, d = gan.build_mlp_generator(), gan.build_mlp_discriminator()
    step = gan.make_train_step(
        g,
        d,
        keras.optimizers.Adam(2e-4, beta_1=0.5),
        keras.optimizers.Adam(2e-4, beta_1=0.5),
        gan.LATENT_DIM,
        seed=seed,
    )
    dataset = utils.make_dataset(x_tanh, batch_size=64, shuffle=True, seed=seed)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget:
        for batch in dataset:
            step(batch)
            steps += 1
            if time.perf_counter() - start >= budget:
                break
    return g, steps, time.perf_counter() - start


def train_dcgan(x_tanh, budget, seed=0, steps_per_execution=8):
    """Chapter 03's recipe (`fit()` with R1) for `budget` seconds; returns (generator, steps, seconds)."""
    keras.utils.set_random_seed(42 + seed)
    model = gan.GAN(
        gan.build_dcgan_generator(filters=64),
        gan.build_dcgan_discriminator(filters=32),
        gan.LATENT_DIM,
        real_label=1.0,
        r1_gamma=1.0,
        seed=seed,
    )
    model.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        steps_per_execution=steps_per_execution,
    )
    dataset = utils.make_dataset(x_tanh, batch_size=32, shuffle=True, seed=seed)
    start = time.perf_counter()
    model.fit(
        dataset, epochs=100_000, verbose=0, shuffle=False, callbacks=[training.TimeBudget(budget)]
    )
    seconds = time.perf_counter() - start
    return model.generator, int(model.g_optimizer.iterations), seconds


def train_vae(x_unit, budget, seed=0):
    """Chapter 04's recipe (`fit()`, KL warm-up) for `budget` seconds; returns (decoder, steps, seconds)."""
    keras.utils.set_random_seed(42 + seed)
    model = vae.VAE(vae.build_encoder(16), vae.build_decoder(16), seed=42 + seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    dataset = utils.make_dataset(
        x_unit, batch_size=128, shuffle=True, seed=seed, dynamic_binarization=True
    )
    start = time.perf_counter()
    model.fit(
        dataset,
        epochs=100_000,
        verbose=0,
        shuffle=False,
        callbacks=[vae.KLWarmup(10, start=0.1), training.TimeBudget(budget)],
    )
    seconds = time.perf_counter() - start
    return model.decoder, int(model.optimizer.iterations), seconds


def timed(sample, *args, **kwargs):
    """Run `sample(*args, **kwargs)`; return the images and the seconds per 1,000 images."""
    start = time.perf_counter()
    images = sample(*args, **kwargs)
    return images, (time.perf_counter() - start) * 1000 / len(images)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--budget", type=float, default=240.0, help="training seconds per model (default 240)"
    )
    parser.add_argument(
        "--samples", type=int, default=1000, help="images scored per model (default 1000)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="0 (default): the chapters' seeds (Keras seed 42, data order 0); S: 42 + S and S",
    )
    parser.add_argument(
        "--dcgan-spe", type=int, default=8, help="the DCGAN's steps_per_execution (default 8, chapter 03's)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.dcgan_spe < 1:
        parser.error("--dcgan-spe must be 1 or more")

    from utils.chapters import diffusion
    from utils.paths import artifacts_root

    folder = artifacts_root() / "10_diffusion"
    if not (folder / "unet.keras").exists() or not (folder / "schedule.json").exists():
        print(f"no saved diffusion model in {folder}: run solutions/10_diffusion.ipynb first")
        return 2
    data = utils.load_mnist(verbose=False)
    real = utils.scale_images(data.x_test, to="unit")
    if not K < args.samples <= len(real):
        print(f"--samples must be between {K + 1} and {len(real)} (the held-out digits)")
        return 2
    real = real[: args.samples]
    x_tanh = utils.scale_images(data.x_train, to="tanh")
    x_unit = utils.scale_images(data.x_train, to="unit")
    classifier = metrics.get_classifier(data, verbose=False)
    print(f"data: {data.source}")
    print(utils.env_report())
    print(f"budget {args.budget:g} s per model, {args.samples} samples each, seed {args.seed}, "
          f"DCGAN steps_per_execution {args.dcgan_spe}\n")

    def judge(images):
        return metrics.evaluate_generator(images, real, classifier=classifier, k=K)

    rows = {}
    trainers = [
        ("MLP GAN (02)", train_mlp_gan, x_tanh, "tanh"),
        ("DCGAN (03)", functools.partial(train_dcgan, steps_per_execution=args.dcgan_spe), x_tanh, "tanh"),
        ("VAE (04)", train_vae, x_unit, "logits"),
    ]
    for name, train, x, output in trainers:
        print(f"training {name} for {args.budget:g} s ...", flush=True)
        model, steps, seconds = train(x, args.budget, seed=args.seed)
        metrics.sample_generator(model, 10, output=output)  # warm-up: trace before timing
        images, per_1000 = timed(
            metrics.sample_generator, model, args.samples, seed=FAMILY_SEED, output=output
        )
        rows[name] = dict(judge(images), steps=steps, train_seconds=seconds)
        rows[name]["seconds_per_1000"] = per_1000
        print(f"  {steps:,} steps in {seconds:.1f} s; FID {rows[name]['fid']:.2f}", flush=True)

    unet = keras.models.load_model(folder / "unet.keras")
    config = json.loads((folder / "schedule.json").read_text())
    schedule = diffusion.Schedule(int(config["steps"]), config["beta_start"], config["beta_end"])
    record = folder / "history.json"
    history = json.loads(record.read_text()) if record.exists() else {}
    unet_seconds = history.get("train_seconds")
    print(f"diffusion (10): loaded {folder / 'unet.keras'}, trained {unet_seconds} s by chapter 10")
    diffusion.ddim_sample(unet, schedule, min(args.samples, 500), 1)  # warm-up: trace first
    images, per_1000 = timed(
        diffusion.ddim_sample, unet, schedule, args.samples, DDIM_STEPS, seed=DIFFUSION_SEED
    )
    rows[f"diffusion (10), DDIM {DDIM_STEPS}"] = dict(
        judge(images), steps=None, train_seconds=unet_seconds, seconds_per_1000=per_1000
    )
    for clip, suffix in ((False, ""), (True, " clip")):  # clip: each step's x0_hat in [-1, 1]
        images, per_1000 = timed(
            diffusion.ddpm_sample, unet, schedule, args.samples, seed=DIFFUSION_SEED, clip_x0=clip
        )
        rows[f"diffusion (10), DDPM {schedule.steps}{suffix}"] = dict(
            judge(images), steps=None, train_seconds=unet_seconds, seconds_per_1000=per_1000
        )

    floor = metrics.evaluate_generator(x_unit[: args.samples], real, classifier=classifier, k=K)
    print(f"\nreal-vs-real floor at N = {args.samples}: FID {floor['fid']:.2f}\n")
    header = ("model", "trained", "steps", "FID", "score", "prec.", "recall", "s/1000")
    print("{:31s} {:>8s} {:>7s} {:>7s} {:>6s} {:>6s} {:>6s} {:>7s}".format(*header))
    for name, r in rows.items():
        trained = "?" if r["train_seconds"] is None else f"{r['train_seconds']:.0f} s"
        steps = "-" if r["steps"] is None else f"{r['steps']:,}"
        print(
            f"{name:31s} {trained:>8s} {steps:>7s} {r['fid']:7.2f} {r['score']:6.2f} "
            f"{r['precision']:6.3f} {r['recall']:6.3f} {r['seconds_per_1000']:7.2f}"
        )
    if args.json:
        figures = {"budget": args.budget, "samples": args.samples, "seed": args.seed,
                   "dcgan_spe": args.dcgan_spe}
        args.json.write_text(json.dumps(dict(figures, floor=floor, rows=rows), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
