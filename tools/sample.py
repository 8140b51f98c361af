#!/usr/bin/env python3
"""Draw samples from a chapter's saved model, without opening its notebook.

Reads the full-mode artifact under artifacts/NN_name/ (`--fast`: artifacts/fast/NN_name/; the
COURSE_ARTIFACTS_DIR variable moves the whole folder) and writes N samples to a PNG grid or a
.npy file (float32 images in [0, 1], shape (N, H, W, C)).

    python tools/sample.py 03 --n 64 --out dcgan.png         # chapter 03's DCGAN
    python tools/sample.py 10 --steps 20 --out digits.png    # chapter 10's diffusion model, DDIM
    python tools/sample.py 10 --sampler ddpm --label 3 --guidance 2 --out threes.npy

Chapters: 02 (GAN), 03 (DCGAN), 04 (VAE), 05 (VAE, 2-D code), 06 (faces DCGAN), 10 (diffusion).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# name, folder, model file, what the model outputs
MODELS = {
    "02": ("MLP GAN", "02_gan", "generator.keras", "tanh"),
    "03": ("DCGAN", "03_dcgan", "generator.keras", "tanh"),
    "04": ("VAE decoder", "04_vae", "decoder.keras", "logits"),
    "05": ("VAE decoder (2-D code)", "05_latent_space", "decoder.keras", "logits"),
    "06": ("faces DCGAN", "06_faces_project", "generator.keras", "tanh"),
    "10": ("diffusion U-Net", "10_diffusion", "unet.keras", "diffusion"),
}


class SampleError(RuntimeError):
    """A problem the user can fix (missing artifact, bad option); printed without a traceback."""


def chapter_key(text: str) -> str:
    """'3', '03' or '03_dcgan' -> '03'."""
    key = text.split("_")[0].zfill(2)
    if key not in MODELS:
        choices = ", ".join(f"{k} ({v[0]})" for k, v in MODELS.items())
        raise argparse.ArgumentTypeError(f"unknown chapter {text!r}; choose one of {choices}")
    return key


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("chapter", type=chapter_key, help="02, 03, 04, 05, 06 or 10")
    parser.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    parser.add_argument(
        "--out", type=Path, help="a .png (grid) or .npy file (default samples_NN.png)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the noise (default 0)")
    parser.add_argument(
        "--steps",
        type=int,
        default=20,
        help="diffusion only: DDIM steps (default 20; the DDPM sampler uses all T)",
    )
    parser.add_argument(
        "--sampler", choices=("ddim", "ddpm"), default="ddim", help="diffusion only"
    )
    parser.add_argument("--label", type=int, help="diffusion only: draw this digit (0-9)")
    parser.add_argument(
        "--guidance",
        type=float,
        default=1.0,
        help="diffusion only: classifier-free guidance scale with --label (default 1)",
    )
    parser.add_argument("--fast", action="store_true", help="use the fast-mode artifact instead")
    parser.add_argument("--ncols", type=int, help="columns of the PNG grid (default: square)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    if args.label is not None and not 0 <= args.label <= 9:
        parser.error(f"--label must be a digit 0-9, got {args.label}")
    out = args.out or Path(f"samples_{args.chapter}.png")
    if out.suffix.lower() not in (".png", ".npy"):
        parser.error(f"--out must end in .png or .npy, got {out}")
    args.out = out
    return args


def artifact_folder(key: str, fast: bool) -> Path:
    from utils.paths import artifacts_root

    folder = MODELS[key][1]
    return artifacts_root() / "fast" / folder if fast else artifacts_root() / folder


def load(key: str, fast: bool):
    """The saved model of chapter `key`, or SampleError saying what to run."""
    import keras

    from utils.chapters import diffusion  # noqa: F401  (registers TimestepEmbedding for loading)
    from utils.paths import keras_file_problem, shown_path

    name, folder_name, file, _ = MODELS[key]
    path = artifact_folder(key, fast) / file
    mode = "fast" if fast else "full"
    if not path.exists():
        other = "" if fast else " (or pass --fast to use the fast-mode model, if you ran one)"
        raise SampleError(
            f"no saved {name} at {shown_path(path)}: run notebooks/{folder_name}.ipynb (or "
            f"solutions/{folder_name}.ipynb) in {mode} mode first{other}."
        )
    problem = keras_file_problem(path)
    if problem:
        raise SampleError(
            f"{shown_path(path)} cannot be used: {problem}. Delete it and re-run "
            f"chapter {folder_name}."
        )
    try:
        return keras.models.load_model(path), path
    except Exception as err:  # a file from other code or another version
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        raise SampleError(
            f"{shown_path(path)} does not load: {type(err).__name__}: {first}"
        ) from err


def sample_diffusion(model, folder: Path, args):
    import numpy as np

    from utils.chapters import diffusion

    settings = folder / "schedule.json"
    if not settings.exists():
        raise SampleError(
            f"{settings} is missing (chapter 10 saves it beside unet.keras); re-run chapter 10"
        )
    config = json.loads(settings.read_text())
    schedule = diffusion.Schedule(int(config["steps"]), config["beta_start"], config["beta_end"])
    if args.sampler == "ddim" and not 1 <= args.steps <= schedule.steps:
        raise SampleError(f"--steps must be between 1 and T = {schedule.steps}, got {args.steps}")
    labels = None if args.label is None else np.full(args.n, args.label, "int32")
    options = dict(labels=labels, guidance=args.guidance, seed=args.seed)
    if args.sampler == "ddpm":
        images = diffusion.ddpm_sample(model, schedule, args.n, **options)
        how = f"DDPM, {schedule.steps} steps"
    else:
        images = diffusion.ddim_sample(model, schedule, args.n, args.steps, **options)
        how = f"DDIM, {args.steps} steps"
    if labels is not None:
        how += f", digit {args.label}, guidance {args.guidance:g}"
    return images, "tanh", how


def sample(args):
    """(images in their model's range, that range, a description) for the parsed arguments."""
    import numpy as np

    key = args.chapter
    model, path = load(key, args.fast)
    output = MODELS[key][3]
    if output == "diffusion":
        return sample_diffusion(model, path.parent, args)
    latent_shape = tuple(model.input_shape[1:])
    z = np.random.default_rng(args.seed).standard_normal((args.n, *latent_shape)).astype("float32")
    images = np.asarray(model.predict(z, batch_size=256, verbose=0))
    if output == "logits":
        images, output = 1.0 / (1.0 + np.exp(-images.astype("float64"))), "unit"
    return images, output, f"z ~ N(0, I) of shape {latent_shape}"


def write(images, value_range: str, out: Path, ncols=None) -> None:
    import numpy as np

    import utils

    unit = utils.to_unit_range(np.asarray(images), value_range).astype("float32")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, unit)
        return
    from PIL import Image

    grid = utils.image_grid(unit, ncols=ncols, value_range="unit")
    pixels = (np.clip(grid, 0, 1) * 255).round().astype("uint8")
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    import utils  # noqa: F401  (quiets TensorFlow before it loads)

    try:
        images, value_range, how = sample(args)
        write(images, value_range, args.out, args.ncols)
    except SampleError as err:
        print(f"sample.py: {err}", file=sys.stderr)
        return 2
    name = MODELS[args.chapter][0]
    print(
        f"wrote {len(images)} samples of chapter {args.chapter}'s {name} ({how}, seed "
        f"{args.seed}) to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
