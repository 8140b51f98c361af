#!/usr/bin/env python3
"""Training throughput (images per second) of each course model on this machine.

Builds each model with the course's own builders (utils.gan for the MLP GAN of chapter 02 and the DCGAN of
chapter 03, utils.vae for the VAE of chapter 04, utils.metrics for chapter 07's classifier), runs its real
training step on random batches of the course's batch size, and prints the median images per second over
several timed windows. A model whose module is missing is skipped with a message.

    python benchmarks/throughput.py
    python benchmarks/throughput.py --models dcgan vae --steps 50 --repeats 5
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import time

import utils  # noqa: F401  (quiets TensorFlow first)

MODELS = ("gan", "dcgan", "vae", "classifier")


def _module(name):
    try:
        return importlib.import_module(f"utils.{name}")
    except ImportError as err:
        print(f"  utils.{name} not available ({err}); skipping")
        return None


def gan_step(kind: str):
    """(step function taking a batch, batch size) for chapter 02's MLP GAN or chapter 03's DCGAN."""
    gan = _module("gan")
    if gan is None:
        return None
    import keras

    if kind == "gan":  # chapter 02 trains with batch 64; chapter 03 with batch 32 and the R1 penalty (gamma 1)
        g, d, batch, r1_gamma = gan.build_mlp_generator(), gan.build_mlp_discriminator(), 64, 0.0
    else:
        g, d, batch, r1_gamma = gan.build_dcgan_generator(), gan.build_dcgan_discriminator(), 32, 1.0
    step = gan.make_train_step(g, d, keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5),
                               gan.LATENT_DIM, r1_gamma=r1_gamma)
    return step, batch, "tanh", f"{g.count_params():,} + {d.count_params():,} params (G + D)"


def vae_step():
    vae = _module("vae")
    if vae is None:
        return None
    import keras

    model = vae.VAE(vae.build_encoder(16), vae.build_decoder(16), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))

    def step(batch):
        return model.train_on_batch(batch)

    params = model.encoder.count_params() + model.decoder.count_params()
    return step, 128, "binary", f"{params:,} params (latent 16)"


def classifier_step():
    metrics = _module("metrics")
    if metrics is None:
        return None
    import keras

    model = metrics.build_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    import numpy as np

    labels = np.zeros(64, dtype="int32")

    def step(batch):
        return model.train_on_batch(batch, labels)

    return step, 64, "unit", f"{model.count_params():,} params"


def measure(step, batch_size: int, kind: str, steps: int, repeats: int, warmup: int = 5) -> list[float]:
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(batch_size, 28, 28, 1)).astype("float32")
    if kind == "tanh":
        x = x * 2 - 1
    elif kind == "binary":
        x = (x > 0.5).astype("float32")
    batch = tf.constant(x) if kind == "tanh" else x
    for _ in range(warmup):  # tracing and first-call overheads are not throughput
        step(batch)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            out = step(batch)
        if isinstance(out, dict):  # make sure asynchronous work has finished
            [float(v) for v in out.values()]
        rates.append(steps * batch_size / (time.perf_counter() - start))
    return rates


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", choices=MODELS, default=list(MODELS))
    parser.add_argument("--steps", type=int, default=30, help="training steps per timed window (default 30)")
    parser.add_argument("--repeats", type=int, default=5, help="timed windows per model; the median is quoted")
    args = parser.parse_args(argv)

    print(utils.env_report())
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores visible; {args.repeats} windows of {args.steps} steps")
    builders = {"gan": lambda: gan_step("gan"), "dcgan": lambda: gan_step("dcgan"), "vae": vae_step,
                "classifier": classifier_step}
    labels = {"gan": "MLP GAN (02), D+G step", "dcgan": "DCGAN (03), D+G step", "vae": "VAE (04), ELBO step",
              "classifier": "classifier (07), CE step"}
    rows = []
    for name in args.models:
        print(f"{labels[name]} ...", flush=True)
        built = builders[name]()
        if built is None:
            rows.append((labels[name], None, None, "skipped: module missing"))
            continue
        step, batch_size, kind, info = built
        rates = measure(step, batch_size, kind, args.steps, args.repeats)
        rows.append((labels[name], statistics.median(rates), batch_size, info))
        print(f"  median {statistics.median(rates):,.0f} images/s (min {min(rates):,.0f}, max {max(rates):,.0f})")
    print()
    print("| model | batch | images/s (median) | size |")
    print("|---|---|---|---|")
    for label, rate, batch, info in rows:
        print(f"| {label} | {batch or '-'} | {f'{rate:,.0f}' if rate else '-'} | {info} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
