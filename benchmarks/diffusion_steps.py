#!/usr/bin/env python3
"""Classifier-FID of chapter 10's diffusion model against its number of sampling steps.

Loads `artifacts/10_diffusion/unet.keras` and its `schedule.json` with plain
`keras.models.load_model`, draws --n unconditional samples with DDIM at each --steps value
(eta = 0, deterministic) and with DDPM (all T steps; as printed in the paper, and with each
step's x0_hat clipped to [-1, 1], "DDPM clip"), and prints chapter 07's classifier-FID,
score, precision and recall against as many held-out digits, with the sampling time per 1,000
images on this machine. The real-vs-real floor (training digits against held-out ones, same n)
is printed first, as the reference for "how close to real" (itself a finite-sample estimate).

    COURSE_DATA_DIR=/path/to/mnist python benchmarks/diffusion_steps.py
    python benchmarks/diffusion_steps.py --steps 2 5 10 20 50 100 --n 2000 --guidance 2
    python benchmarks/diffusion_steps.py --fast-artifacts --n 200 --steps 5 10 --no-ddpm
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import utils  # noqa: F401  (quiets TensorFlow first)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps",
        type=int,
        nargs="*",
        default=[5, 10, 20, 50],
        help="DDIM step counts to try (default 5 10 20 50)",
    )
    parser.add_argument("--no-ddpm", action="store_true", help="skip the T-step DDPM samplers")
    parser.add_argument("--n", type=int, default=1000, help="samples per setting (default 1000)")
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM eta (0: deterministic)")
    parser.add_argument("--guidance", type=float, help="sample digits 0-9 with this guidance scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast-artifacts", action="store_true", help="read artifacts/fast/...")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from utils import metrics
    from utils.chapters import diffusion
    from utils.paths import artifacts_root

    root = artifacts_root() / "fast" if args.fast_artifacts else artifacts_root()
    folder = root / "10_diffusion"
    if not (folder / "unet.keras").exists() or not (folder / "schedule.json").exists():
        print(
            f"no saved diffusion model in {folder}: run solutions/10_diffusion.ipynb first"
            + ("" if args.fast_artifacts else " (or pass --fast-artifacts)")
        )
        return 2
    unet = keras.models.load_model(folder / "unet.keras")
    config = json.loads((folder / "schedule.json").read_text())
    schedule = diffusion.Schedule(int(config["steps"]), config["beta_start"], config["beta_end"])
    data = utils.load_mnist(verbose=False)
    real = utils.scale_images(data.x_test, to="unit")
    if not 4 <= args.n <= len(real):
        print(f"--n must be between 4 and {len(real)} (the held-out digits), got {args.n}")
        return 2
    real = real[: args.n]
    classifier = metrics.get_classifier(data, verbose=False)
    labels = None if args.guidance is None else (np.arange(args.n) % 10).astype("int32")
    guidance = 1.0 if args.guidance is None else args.guidance
    print(f"data: {data.source}")
    print(f"model: {folder / 'unet.keras'} ({unet.count_params():,} weights), {schedule}")
    print(
        f"{args.n} samples per row, "
        + ("unconditional" if labels is None else f"digits 0-9, guidance {guidance:g}")
        + f", DDIM eta {args.eta:g}\n"
    )
    floor = metrics.evaluate_generator(
        utils.scale_images(data.x_train, to="unit")[: args.n], real, classifier=classifier
    )
    header = ("sampler", "steps", "s/1000", "FID", "score", "prec.", "recall")
    print("{:14s} {:>5s} {:>7s} {:>7s} {:>6s} {:>6s} {:>6s}".format(*header))
    row = "{:14s} {:>5} {:>7} {:7.2f} {:6.2f} {:6.3f} {:6.3f}"
    print(
        row.format(
            "real (floor)",
            "-",
            "-",
            floor["fid"],
            floor["score"],
            floor["precision"],
            floor["recall"],
        )
    )
    diffusion.ddim_sample(unet, schedule, min(args.n, 500), 1, labels=labels, guidance=guidance)
    ddpm = [] if args.no_ddpm else [("DDPM", None), ("DDPM clip", None)]
    settings = [("DDIM", s) for s in args.steps] + ddpm
    figures = {"n": args.n, "floor": floor, "rows": []}
    for sampler, steps in settings:
        start = time.perf_counter()
        if sampler == "DDIM":
            images = diffusion.ddim_sample(
                unet,
                schedule,
                args.n,
                steps,
                eta=args.eta,
                labels=labels,
                guidance=guidance,
                seed=args.seed,
            )
        else:
            steps = schedule.steps
            images = diffusion.ddpm_sample(
                unet,
                schedule,
                args.n,
                labels=labels,
                guidance=guidance,
                seed=args.seed,
                clip_x0=sampler == "DDPM clip",
            )
        per_1000 = (time.perf_counter() - start) * 1000 / args.n
        r = metrics.evaluate_generator(images, real, classifier=classifier)
        print(
            row.format(
                sampler, steps, f"{per_1000:.1f}", r["fid"], r["score"], r["precision"], r["recall"]
            ),
            flush=True,
        )
        figures["rows"].append(dict(r, sampler=sampler, steps=steps, seconds_per_1000=per_1000))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
