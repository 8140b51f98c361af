"""Training helpers every training chapter uses (chapter 02, section 6; chapter 03, section 4).

- `EpochProgressBar`: a tqdm bar over the epochs of `fit(verbose=0)`, showing the latest logs;
- `TimeBudget`: stops `fit()` once a wall-clock budget is spent, so a notebook keeps its 10 minutes;
- `snapshot_weights` / `max_weight_change`: did a step move a model, and by how much;
- `WeightAverage`: an exponential moving average of a model's weights (chapter 06: sample from it).

The weight helpers look at *all* of a model's weights (`model.weights`), not only the trainable ones:
a model frozen with `trainable = False` has no trainable weights, yet a buggy step can still change it
(BatchNorm statistics, a second optimiser), and that change is exactly what a test wants to see.
"""

from __future__ import annotations

import time

import keras
import numpy as np


class EpochProgressBar(keras.callbacks.Callback):
    """A tqdm bar over the epochs of `fit(verbose=0)` with the latest `keys` (None: all that `fit` logs)."""

    def __init__(self, epochs: int, desc: str = "training", keys=None):
        super().__init__()
        self.epochs, self.desc, self.keys = epochs, desc, keys

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.epochs, desc=self.desc, unit="epoch")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        keys = logs if self.keys is None else [k for k in self.keys if k in logs]
        self.bar.set_postfix({k: f"{float(logs[k]):.3f}" for k in keys})
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit()` once `seconds` of wall-clock time have passed (checked per steps_per_execution batches)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.stopped_early = float(seconds), False

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = self.stopped_early = True


def snapshot_weights(model) -> list[np.ndarray]:
    """Copies of all of a model's weights (trainable or not), to compare before and after a step."""
    return [keras.ops.convert_to_numpy(w).copy() for w in model.weights]


def max_weight_change(before: list[np.ndarray], model) -> float:
    """Largest absolute change of any of the model's weights since `snapshot_weights(model)`."""
    after = model.weights
    if len(after) != len(before):
        raise ValueError("the model's weights changed in number since the snapshot")
    changes = (np.abs(keras.ops.convert_to_numpy(a) - b).max() for a, b in zip(after, before))
    return float(max(changes, default=0.0))


class WeightAverage:
    """A copy of `model` (`.average`) whose weights follow an exponential moving average of the model's.

    After every step, `update()`: average <- d * average + (1 - d) * weights over all weights (BatchNorm
    statistics too), with d = min(decay, (1 + n) / (warmup + n)) at the n-th update. Warmup 10 (as in
    `tf.train.ExponentialMovingAverage`) lets the untrained start fade fast: about the last n / 9 steps count;
    warmup 2 weighs every step alike (the start twice), nearly Polyak's mean. A GAN generator's weights
    circle around a good solution; their average sits nearer its centre.
    """

    def __init__(self, model, decay: float = 0.999, warmup: float = 10.0):
        if not 0.0 <= decay < 1.0 or warmup < 1.0:
            raise ValueError(f"decay must be in [0, 1) and warmup >= 1, got {decay}, {warmup}")
        self.model, self.decay, self.warmup = model, float(decay), float(warmup)
        self.average = keras.models.clone_model(model)
        self.average.set_weights(model.get_weights())
        self.updates = keras.Variable(0.0, trainable=False, name="updates")  # n, saved by checkpoints

    def update(self):
        self.updates.assign_add(1.0)
        d = keras.ops.minimum(self.decay, (1.0 + self.updates) / (self.warmup + self.updates))
        for averaged, current in zip(self.average.weights, self.model.weights):
            averaged.assign(d * averaged + (1.0 - d) * current)
