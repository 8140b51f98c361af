#!/usr/bin/env python3
"""Held-out ELBO (and importance-weighted bound) in nats of the saved VAEs of chapters 04 and 05.

Loads `artifacts/04_vae/{encoder,decoder}.keras` (latent 16) and `artifacts/05_latent_space/...` (latent 2) with
plain `keras.models.load_model`, binarises the held-out digits at 0.5 (as TensorFlow's CVAE tutorial does), and
prints -ELBO, its two terms and the K-sample importance-weighted bound, in nats per image (lower is better).

    COURSE_DATA_DIR=/path/to/mnist python benchmarks/vae_elbo.py
    python benchmarks/vae_elbo.py --fast-artifacts --importance-samples 10   # the fast-mode models
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import utils  # noqa: F401  (quiets TensorFlow first)

REFERENCE = {"05_latent_space": ("TensorFlow CVAE tutorial, latent 2", 156.0)}
TARGETS = {"04_vae": 100.0, "05_latent_space": 150.0}  # chapter 05 aims below 150


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="*", default=["04_vae", "05_latent_space"])
    parser.add_argument("--samples", type=int, default=1, help="z samples per image for the ELBO (default 1)")
    parser.add_argument("--importance-samples", type=int, default=100, help="K for the IWAE bound (0: skip)")
    parser.add_argument("--seeds", type=int, default=3, help="repeat the ELBO with this many noise seeds")
    parser.add_argument("--fast-artifacts", action="store_true", help="read artifacts/fast/... instead")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from utils import vae as V
    from utils.paths import artifacts_root

    data = utils.load_mnist(verbose=False)
    x_test_bin = utils.binarize(utils.scale_images(data.x_test, to="unit"), 0.5)
    print(f"data: {data.source}")
    print(f"evaluation: {len(x_test_bin)} held-out digits thresholded at 0.5; nats per image, lower is better\n")
    root = artifacts_root() / "fast" if args.fast_artifacts else artifacts_root()
    figures, missing = {}, []
    for chapter in args.chapters:
        folder = root / chapter
        if not (folder / "encoder.keras").exists() or not (folder / "decoder.keras").exists():
            missing.append(chapter)
            print(f"{chapter}: no saved encoder/decoder in {folder}; run solutions/{chapter}.ipynb first")
            continue
        encoder = keras.models.load_model(folder / "encoder.keras")
        decoder = keras.models.load_model(folder / "decoder.keras")
        latent = int(decoder.input_shape[-1])
        start = time.perf_counter()
        runs = [V.elbo_nats(encoder, decoder, x_test_bin, samples=args.samples, seed=s) for s in range(args.seeds)]
        elbos = [r["neg_elbo"] for r in runs]
        iw = None
        if args.importance_samples:
            iw = V.elbo_nats(encoder, decoder, x_test_bin, importance_samples=args.importance_samples, seed=99)
        seconds = time.perf_counter() - start
        row = {"latent_dim": latent, "neg_elbo_median": float(np.median(elbos)), "neg_elbo_runs": elbos,
               "reconstruction": runs[0]["reconstruction"], "kl": runs[0]["kl"],
               "neg_iwae": iw["neg_iwae"] if iw else None, "importance_samples": args.importance_samples,
               "eval_seconds": round(seconds, 1)}
        figures[chapter] = row
        print(f"{chapter} (latent {latent}): -ELBO {row['neg_elbo_median']:.1f} nats "
              f"(median of {args.seeds} noise seeds: {', '.join(f'{e:.1f}' for e in elbos)}; "
              f"reconstruction {row['reconstruction']:.1f} + KL {row['kl']:.1f})")
        if iw:
            print(f"{'':>{len(chapter)}}   IWAE bound, K={args.importance_samples}: {iw['neg_iwae']:.1f} nats")
        target = TARGETS.get(chapter)
        if target is not None:
            verdict = "met" if row["neg_elbo_median"] <= target else "NOT met"
            print(f"{'':>{len(chapter)}}   target <= {target:.0f} nats: {verdict}")
        if chapter in REFERENCE:
            name, value = REFERENCE[chapter]
            print(f"{'':>{len(chapter)}}   reference: {name} ~{value:.0f} nats")
        evaluation = folder / "evaluation.json"
        if evaluation.exists():
            saved = json.loads(evaluation.read_text())
            print(f"{'':>{len(chapter)}}   trained {saved.get('epochs')} epochs in {saved.get('train_seconds')} s "
                  f"({saved.get('mode')} mode) on {saved.get('n_train')} digits")
        print()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 1 if missing and not figures else 0


if __name__ == "__main__":
    sys.exit(main())
