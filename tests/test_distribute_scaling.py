"""The course's GAN update makes the same step on two replicas as on one device (chapter 09, section 5).

Under `MirroredStrategy` the optimizer sums the replicas' gradients, so a `train_step` whose loss is a
plain per-replica mean updates twice as far on two replicas (the bug this file guards against).
`utils.gan.gan_update` divides each replica's loss by the number of replicas. Two logical CPUs must be
configured before TensorFlow initialises its devices, so the check runs in a fresh subprocess.

The generator ignores its noise (a `Rescaling(0)` first layer), so the step does not depend on which
noise each replica draws: only the loss scaling can make one and two replicas differ. Plain SGD, so a
scaling error shows in full (Adam would normalise most of it away).
"""

import textwrap

import pytest

pytest.importorskip("tensorflow")

SCRIPT = textwrap.dedent("""
    import json, os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    tf.get_logger().setLevel("ERROR")
    import keras
    import numpy as np
    from utils import gan

    LATENT, B = 4, 8
    real = np.random.default_rng(0).uniform(-1, 1, (B, 28, 28, 1)).astype("float32")

    def build():
        keras.utils.set_random_seed(3)
        g = keras.Sequential([keras.Input((LATENT,)), keras.layers.Rescaling(0.0),
                              keras.layers.Dense(784, activation="tanh"), keras.layers.Reshape((28, 28, 1))])
        return g, gan.build_mlp_discriminator(hidden=(16,), dropout=0.0)

    g0, d0 = build()
    start = g0.get_weights() + d0.get_weights()

    def fresh():
        g, d = build()
        g.set_weights(start[:len(g.weights)])
        d.set_weights(start[len(g.weights):])
        return g, d, keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1)

    def via_fit(strategy):
        with strategy.scope():
            g, d, g_opt, d_opt = fresh()
            model = gan.GAN(g, d, latent_dim=LATENT, r1_gamma=1.0)
            model.compile(d_optimizer=d_opt, g_optimizer=g_opt)
            model(np.zeros((1, LATENT), "float32"))  # built on noise: fit() would build it on images
        logs = model.fit(real, batch_size=B, epochs=1, shuffle=False, verbose=0).history
        return g.get_weights() + d.get_weights(), {k: v[-1] for k, v in logs.items()}

    def via_step(strategy):
        with strategy.scope():
            g, d, g_opt, d_opt = fresh()
            g_opt.build(g.trainable_variables)
            d_opt.build(d.trainable_variables)
        step = gan.make_train_step(g, d, g_opt, d_opt, latent_dim=LATENT, real_label=0.9)
        batches = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(real).batch(B))
        for batch in batches:
            strategy.run(step, args=(batch,))
        return g.get_weights() + d.get_weights(), {}

    def moves(weights):
        return np.concatenate([(w - s).ravel() for w, s in zip(weights, start)])

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    out = {"replicas": mirrored.num_replicas_in_sync}
    for name, run in (("fit", via_fit), ("step", via_step)):
        one, one_logs = run(tf.distribute.get_strategy())
        two, two_logs = run(mirrored)
        a, b = moves(one), moves(two)
        out[name] = {"ratio": float(np.linalg.norm(b) / np.linalg.norm(a)), "moved": float(np.abs(a).max()),
                     "gap": float(np.abs(a - b).max()),
                     "log_gap": max([abs(one_logs[k] - two_logs[k]) for k in one_logs], default=0.0)}
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def result(json_from_fresh_python):
    return json_from_fresh_python(SCRIPT)


def test_two_replicas(result):
    assert result["replicas"] == 2


@pytest.mark.parametrize("path", ["fit", "step"])
def test_two_replicas_make_the_single_device_update(result, path):
    r = result[path]
    assert r["moved"] > 1e-3, "the step should move the weights"
    assert abs(r["ratio"] - 1.0) < 1e-4, f"update on 2 replicas / update on 1: {r['ratio']:.3f}"
    assert r["gap"] < 1e-6 * max(1.0, r["moved"]) + 1e-7
    assert r["log_gap"] < 1e-4, "the logged losses are the global batch's means either way"
