"""The conditional GAN's step under MirroredStrategy on two logical CPUs equals the single-device step.

Logical devices must be configured before TensorFlow initialises its devices, so the check runs in a fresh
subprocess (this pytest process has usually initialised TensorFlow already).
"""

import textwrap

import pytest

pytest.importorskip("tensorflow")

SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from utils.chapters import conditional as cond

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    B = 8
    rng = np.random.default_rng(0)
    batch = (rng.uniform(-1, 1, (B, 28, 28, 1)).astype("float32"), rng.integers(0, 10, B).astype("int32"),
             rng.standard_normal((B, cond.LATENT_DIM)).astype("float32"), rng.integers(0, 10, B).astype("int32"))

    def models(sync):
        keras.utils.set_random_seed(5)
        g = cond.build_conditional_generator(width=8, embed_dim=4, synchronized_bn=sync)
        d = cond.build_conditional_discriminator(width=8, dropout=0.0)
        go, do = keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1)
        go.build(g.trainable_variables); do.build(d.trainable_variables)
        return g, d, go, do

    def single(sync):
        g, d, go, do = models(sync)
        logs = tf.function(cond.make_train_step(g, d, go, do, B))(*batch)
        return g.get_weights() + d.get_weights(), {k: float(v) for k, v in logs.items()}

    def mirrored(divisor, sync):
        with strategy.scope():
            g, d, go, do = models(sync)
        step = cond.distributed_step(strategy, cond.make_train_step(g, d, go, do, divisor))
        for rb in strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(batch).batch(B)):
            logs = step(*rb)
        return g.get_weights() + d.get_weights(), {k: float(v) for k, v in logs.items()}

    def diff(a, b):
        return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))

    ref, ref_logs = single(True)
    ok, ok_logs = mirrored(B, True)
    half, _ = mirrored(B // 2, True)
    ref_u, _ = single(False)
    unsync, _ = mirrored(B, False)
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "correct": diff(ref, ok),
                      "local_mean": diff(ref, half), "unsync_bn": diff(ref_u, unsync),
                      "loss_gap": max(abs(ref_logs[k] - ok_logs[k]) for k in ref_logs)}))
""")


@pytest.fixture(scope="module")
def result(json_from_fresh_python):
    return json_from_fresh_python(SCRIPT)


def test_two_replicas(result):
    assert result["replicas"] == 2


def test_distributed_step_matches_single_device(result):
    assert result["correct"] < 1e-5
    assert result["loss_gap"] < 1e-4


def test_averaging_over_the_local_batch_is_caught(result):
    assert result["local_mean"] > 1e-4


def test_unsynchronised_batchnorm_differs(result):
    assert result["unsync_bn"] > 1e-6
