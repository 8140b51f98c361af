#!/usr/bin/env python3
"""XLA (`jit_compile`), `steps_per_execution` and batch size: training images per second of each training chapter.

Each chapter's model is built with the course's builders and trained the way its chapter trains it, on random
batches of the right shape (throughput does not depend on the pixels):

  02  MLP GAN        `utils.gan.make_train_step` in an explicit loop (the chapter's own step is the same update);
                     also `utils.gan.GAN` with `fit()`, for comparison
  03  DCGAN          `utils.gan.GAN(..., r1_gamma=1)` with `fit()` (the chapter's DCGAN model is the same step)
  04  VAE, latent 16 `utils.vae.VAE` with `fit()`, Adam 1e-3
  05  VAE, latent 2  the same, latent 2
  06  faces          `utils.chapters.faces.make_face_train_step` (G 192 filters, D 32), explicit loop
  09  conditional    `utils.chapters.conditional.make_train_step` in `tf.function`, explicit loop

For `fit()`: `compile(jit_compile=False/True, steps_per_execution=1/8)`. For an explicit loop: the step as
`tf.function(jit_compile=False/True)` (the same Python update, compiled by XLA or not). Each setting warms up
(tracing, XLA compilation), then trains for several windows of about `--seconds` (1); the median images/s is
quoted, with the ratio to the chapter's own setting (its batch, no XLA, one step per execution). A setting
that fails (e.g. an op XLA cannot compile) is reported, not fatal. More images/s at a larger batch is not
the same as better quality per minute: a GAN at batch 128 makes a quarter of the updates of batch 32.

Run on 2 CPU cores, serialised with the other jobs (about 5 minutes with --seconds 0.75, the run in docs/results.md):
  flock /tmp/course_cpu.lock .venv/bin/python benchmarks/jit_batch.py --seconds 0.75
  .venv/bin/python benchmarks/jit_batch.py --chapters 03 --batches 32 --seconds 1 --windows 2
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet TensorFlow before it loads

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import utils  # noqa: E402,F401
from utils import gan, vae  # noqa: E402
from utils.chapters import conditional, faces  # noqa: E402


def _adam(lr=2e-4, beta_1=0.5):
    return keras.optimizers.Adam(lr, beta_1=beta_1)


def _images(batch, shape=(28, 28, 1), kind="tanh", seed=0):
    x = np.random.default_rng(seed).uniform(size=(batch, *shape)).astype("float32")
    return (x > 0.5).astype("float32") if kind == "binary" else x * 2 - 1


# ------------------------------------------------------------------ what each chapter trains, and how
def gan_fit_model(mlp=False):
    g, d = (gan.build_mlp_generator(), gan.build_mlp_discriminator()) if mlp else \
        (gan.build_dcgan_generator(), gan.build_dcgan_discriminator())
    model = gan.GAN(g, d, real_label=1.0, r1_gamma=0.0 if mlp else 1.0, seed=0)
    return model, lambda **compile_args: model.compile(d_optimizer=_adam(), g_optimizer=_adam(), **compile_args)


def vae_fit_model(latent_dim):
    model = vae.VAE(vae.build_encoder(latent_dim), vae.build_decoder(latent_dim), seed=0)
    return model, lambda **compile_args: model.compile(optimizer=keras.optimizers.Adam(1e-3), **compile_args)


def mlp_gan_step(batch):
    step = gan.make_train_step(gan.build_mlp_generator(), gan.build_mlp_discriminator(), _adam(), _adam())
    return step.python_function, (tf.constant(_images(batch)),)


def faces_step(batch):
    g, d = faces.build_face_generator(100, filters=192), faces.build_face_discriminator(filters=32)
    step = faces.make_face_train_step(g, d, _adam(), _adam(), 100, real_label=0.9, seed=0)
    return step.python_function, (tf.constant(_images(batch, (64, 64, 3))),)


def conditional_step(batch):
    g, d = conditional.build_conditional_generator(), conditional.build_conditional_discriminator()
    step = conditional.make_train_step(g, d, _adam(), _adam(), global_batch_size=batch)
    rng = np.random.default_rng(0)
    args = (_images(batch), rng.integers(0, 10, batch).astype("int32"),
            rng.standard_normal((batch, conditional.LATENT_DIM)).astype("float32"),
            rng.integers(0, 10, batch).astype("int32"))
    return step, tuple(tf.constant(a) for a in args)


# chapter -> (label, "fit" or "step", builder, default batches, the chapter's own batch, data kind)
CASES = {
    "02": ("MLP GAN (02)", "step", mlp_gan_step, (64, 128, 256), 64, "tanh"),
    "02fit": ("MLP GAN (02) with fit()", "fit", lambda: gan_fit_model(mlp=True), (64,), 64, "tanh"),
    "03": ("DCGAN + R1 (03)", "fit", lambda: gan_fit_model(), (32, 64, 128), 32, "tanh"),
    "04": ("VAE latent 16 (04)", "fit", lambda: vae_fit_model(16), (128, 256), 128, "binary"),
    "05": ("VAE latent 2 (05)", "fit", lambda: vae_fit_model(2), (128,), 128, "binary"),
    "06": ("faces 64x64 (06)", "step", faces_step, (64, 128), 64, "tanh"),
    "09": ("conditional GAN (09)", "step", conditional_step, (128, 256), 128, "tanh"),
}


# ---------------------------------------------------------------------------------------- timing
class _EpochClock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def fit_rates(builder, batch, kind, jit, spe, seconds, windows):
    """Images/s of each window of `fit()`: a warm-up fit compiles, a short one sizes the windows."""
    keras.utils.set_random_seed(0)
    model, compile_ = builder()
    compile_(jit_compile=jit, steps_per_execution=spe)
    data = tf.data.Dataset.from_tensors(_images(batch, kind=kind)).repeat()
    model.fit(data, epochs=1, steps_per_epoch=2 * spe, verbose=0, shuffle=False)  # tracing, XLA compilation
    clock = _EpochClock()
    model.fit(data, epochs=1, steps_per_epoch=4 * spe, verbose=0, shuffle=False, callbacks=[clock])
    per_window = max(spe, int(round(seconds / (clock.seconds[0] / (4 * spe)) / spe)) * spe)
    clock = _EpochClock()
    model.fit(data, epochs=windows, steps_per_epoch=per_window, verbose=0, shuffle=False, callbacks=[clock])
    return [per_window * batch / s for s in clock.seconds]


def step_rates(builder, batch, jit, seconds, windows):
    """Images/s of each window of an explicit loop over the chapter's step, compiled with or without XLA."""
    keras.utils.set_random_seed(0)
    python_step, args = builder(batch)
    step = tf.function(python_step, jit_compile=jit)

    def run(n):
        start = time.perf_counter()
        for _ in range(n):
            out = step(*args)
        [float(v) for v in out.values()]  # wait for the last step to finish
        return time.perf_counter() - start

    run(2)  # tracing and XLA compilation
    per_window = max(1, int(round(seconds / (run(3) / 3))))
    return [per_window * batch / run(per_window) for _ in range(windows)]


def _short(error):
    text = f"{type(error).__name__}: {error}".replace("\n", " ")
    return text[:140] + ("..." if len(text) > 140 else "")


def measure_case(name, batches, seconds, windows, spes=(1, 8)):
    """Rows (chapter, loop, batch, jit, spe, images/s or None, note) for every setting of one chapter."""
    label, loop, builder, _, _, kind = CASES[name]
    rows = []
    for batch in batches:
        for jit in (False, True):
            for spe in (spes if loop == "fit" else (None,)):
                start = time.perf_counter()
                try:
                    if loop == "fit":
                        rates = fit_rates(builder, batch, kind, jit, spe, seconds, windows)
                    else:
                        rates = step_rates(builder, batch, jit, seconds, windows)
                    rate, note = statistics.median(rates), f"min {min(rates):,.0f}, max {max(rates):,.0f}"
                except Exception as error:  # noqa: BLE001 - a setting that fails is a result, not a crash
                    rate, note = None, "failed: " + _short(error)
                rows.append(dict(chapter=name, label=label, loop=loop, batch=batch, jit=jit, spe=spe,
                                 rate=rate, note=note, wall=time.perf_counter() - start))
                print(_row_text(rows[-1]), flush=True)
    return rows


def _row_text(row):
    rate = f"{row['rate']:8,.0f} images/s" if row["rate"] else "       - images/s"
    spe = f"spe {row['spe']}" if row["spe"] else "loop "
    return (f"  {row['label']:24s} batch {row['batch']:3d}  jit {'on ' if row['jit'] else 'off'}  {spe}  {rate}  "
            f"({row['note']}; {row['wall']:.0f} s)")


def table(rows):
    """A Markdown table; `x base` compares with the chapter's batch, no XLA, one step per execution."""
    lines = ["| chapter | loop | batch | jit_compile | steps_per_execution | images/s | steps/s | x base |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        own_batch = CASES[row["chapter"]][4]
        base = next((r["rate"] for r in rows if r["chapter"] == row["chapter"] and r["batch"] == own_batch
                     and not r["jit"] and r["spe"] in (None, 1)), None)
        if row["rate"]:
            cells = f"{row['rate']:,.0f} | {row['rate'] / row['batch']:,.1f} | " + \
                (f"{row['rate'] / base:.2f}" if base else "-")
        else:
            cells = f"{row['note']} | - | -"
        lines.append(f"| {row['label']} | {'fit()' if row['loop'] == 'fit' else 'explicit'} | {row['batch']} | "
                     f"{row['jit']} | {row['spe'] or '-'} | {cells} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    parser.add_argument("--batches", type=int, nargs="+", default=None,
                        help="batch sizes for every chapter (default: each chapter's own list)")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timed window (default 1)")
    parser.add_argument("--windows", type=int, default=3, help="timed windows per setting; median quoted (3)")
    parser.add_argument("--spe", type=int, nargs="+", default=[1, 8], help="steps_per_execution for fit()")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.windows < 1 or min(args.spe) < 1:
        parser.error("--seconds must be positive, --windows and --spe at least 1")

    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(utils.env_report())
    gpus = len(tf.config.list_physical_devices("GPU"))
    print(f"started {started}; {os.cpu_count()} CPU cores visible; GPUs: {gpus}; "
          f"{args.windows} windows of about {args.seconds:g} s per setting")
    rows = []
    for name in args.chapters:
        print(f"{CASES[name][0]} ...", flush=True)
        rows += measure_case(name, args.batches or CASES[name][3], args.seconds, args.windows, tuple(args.spe))
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
