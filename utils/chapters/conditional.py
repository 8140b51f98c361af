"""Class-conditional GAN building blocks (chapter 09, section 1) and a training step that also runs under
tf.distribute (section 5).

The generator takes noise and a class label; the discriminator takes an image and its label and returns
two heads: an adversarial logit computed with a *projection* of the label embedding onto the image
features (Miyato & Koyama, 2018) and ten class logits (the auxiliary classifier of AC-GAN, Odena et al.,
2017). Both heads push the generator to draw the digit it is asked for.

    gen = build_conditional_generator()
    disc = build_conditional_discriminator()
    step = make_train_step(gen, disc, g_opt, d_opt, global_batch_size=128)
    logs = step(real_images, labels, z, fake_labels)      # eager or inside strategy.run

Everything here is plain Keras 3 layers (no Lambda), so saved models load with `keras.models.load_model`.
"""

from __future__ import annotations

import numpy as np

NUM_CLASSES = 10
LATENT_DIM = 64


def build_conditional_generator(latent_dim: int = LATENT_DIM, num_classes: int = NUM_CLASSES,
                                width: int = 64, embed_dim: int = 32, synchronized_bn: bool = False):
    """(z (N, latent_dim), label (N,) int) -> images (N, 28, 28, 1) in [-1, 1] (tanh).

    DCGAN-style: dense to 7x7, then two stride-2 transposed convolutions (7 -> 14 -> 28).
    `synchronized_bn=True` makes BatchNormalization average its batch statistics over all replicas
    under a tf.distribute strategy, so a distributed step matches a single-device step exactly.
    """
    import keras
    from keras import layers

    z = keras.Input(shape=(latent_dim,), name="z")
    label = keras.Input(shape=(), dtype="int32", name="label")
    e = layers.Embedding(num_classes, embed_dim, name="label_embedding")(label)
    h = layers.Concatenate(name="z_and_label")([z, e])
    h = layers.Dense(7 * 7 * 2 * width, use_bias=False)(h)
    h = layers.BatchNormalization(synchronized=synchronized_bn)(h)
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Reshape((7, 7, 2 * width))(h)
    h = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(h)
    h = layers.BatchNormalization(synchronized=synchronized_bn)(h)
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh", name="image")(h)
    return keras.Model([z, label], image, name="conditional_generator")


def build_conditional_discriminator(num_classes: int = NUM_CLASSES, width: int = 64, dropout: float = 0.3):
    """(image (N, 28, 28, 1) in [-1, 1], label (N,) int) -> [adversarial logit (N, 1), class logits (N, 10)].

    No BatchNormalization (so real and fake batches never share statistics), LeakyReLU, dropout, logits out.
    `dropout=0` makes it deterministic (used to compare a distributed step with a single-device one).
    """
    import keras
    from keras import layers

    image = keras.Input(shape=(28, 28, 1), name="image")
    label = keras.Input(shape=(), dtype="int32", name="label")
    h = layers.Conv2D(width, 4, strides=2, padding="same")(image)
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Conv2D(2 * width, 4, strides=2, padding="same")(h)
    h = layers.LeakyReLU(negative_slope=0.2)(h)
    h = layers.Flatten()(h)
    if dropout:
        h = layers.Dropout(dropout)(h)
    features = layers.Dense(128, name="features")(h)
    features = layers.LeakyReLU(negative_slope=0.2)(features)
    unconditional = layers.Dense(1, name="unconditional_logit")(features)
    projection = layers.Dot(axes=1, name="projection")(
        [layers.Embedding(num_classes, 128, name="label_projection")(label), features])
    adversarial = layers.Add(name="adversarial_logit")([unconditional, projection])
    class_logits = layers.Dense(num_classes, name="class_logits")(features)
    return keras.Model([image, label], [adversarial, class_logits], name="conditional_discriminator")


def make_train_step(generator, discriminator, g_optimizer, d_optimizer, global_batch_size: int,
                    aux_weight: float = 1.0):
    """Return `step(real, labels, z, fake_labels) -> dict of losses` for one D update then one G update.

    Per-example losses are summed and divided by the GLOBAL batch size (`tf.nn.compute_average_loss`),
    which is what makes the step correct under `strategy.run`: each replica sees a slice of the batch,
    the gradients are summed across replicas, and the sum of the slices' `sum / global_batch` equals the
    mean over the whole batch. On one device it is the ordinary mean. Wrap it in `tf.function` yourself
    (or call `distributed_step`).
    """
    import tensorflow as tf

    def average(per_example):
        return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)

    def bce(logits, target):
        logits = tf.reshape(logits, [-1])
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), target), logits=logits)

    def ce(logits, labels):
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=logits)

    def step(real, labels, z, fake_labels):
        real, z = tf.convert_to_tensor(real, tf.float32), tf.convert_to_tensor(z, tf.float32)
        labels, fake_labels = tf.convert_to_tensor(labels, tf.int32), tf.convert_to_tensor(fake_labels, tf.int32)
        with tf.GradientTape() as tape:
            fake = generator([z, fake_labels], training=True)
            real_adv, real_cls = discriminator([real, labels], training=True)
            fake_adv, _ = discriminator([fake, fake_labels], training=True)
            d_adv = average(bce(real_adv, 1.0) + bce(fake_adv, 0.0))
            d_cls = average(ce(real_cls, labels))
            d_loss = d_adv + aux_weight * d_cls
        grads = tape.gradient(d_loss, discriminator.trainable_variables)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))

        with tf.GradientTape() as tape:
            fake = generator([z, fake_labels], training=True)
            fake_adv, fake_cls = discriminator([fake, fake_labels], training=True)
            g_adv = average(bce(fake_adv, 1.0))  # non-saturating: maximise log D(G(z, y), y)
            g_cls = average(ce(fake_cls, fake_labels))
            g_loss = g_adv + aux_weight * g_cls
        grads = tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss, "d_class_loss": d_cls, "g_class_loss": g_cls}

    return step


def distributed_step(strategy, step):
    """Wrap `step` so it runs on every replica of `strategy` and returns the losses summed over replicas.

    The inputs must come from `strategy.experimental_distribute_dataset` (or be PerReplica values).
    Because each replica's loss is already `sum / global_batch`, summing the replicas gives the mean.
    """
    import tensorflow as tf

    @tf.function
    def run(real, labels, z, fake_labels):
        per_replica = strategy.run(step, args=(real, labels, z, fake_labels))
        return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in per_replica.items()}

    return run


def class_grid_labels(num_classes: int = NUM_CLASSES, per_class: int = 10) -> np.ndarray:
    """Labels 0,0,...,1,1,... (per_class of each) as int32: one row per class in a grid."""
    if num_classes <= 0 or per_class <= 0:
        raise ValueError("num_classes and per_class must be positive")
    return np.repeat(np.arange(num_classes, dtype="int32"), per_class)


def generate(generator, labels, seed: int = 0, latent_dim: int | None = None, batch_size: int = 500) -> np.ndarray:
    """Draw one image per requested label, with fixed noise from `seed`. Returns (N, 28, 28, 1) in [-1, 1]."""
    labels = np.asarray(labels, dtype="int32").reshape(-1)
    if latent_dim is None:
        latent_dim = int(generator.inputs[0].shape[-1])
    z = np.random.default_rng(seed).standard_normal((len(labels), latent_dim)).astype("float32")
    out = [np.asarray(generator([z[i:i + batch_size], labels[i:i + batch_size]], training=False))
           for i in range(0, len(labels), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 28, 28, 1), "float32")


def label_agreement(probs, requested) -> float:
    """Fraction of samples whose most probable class (from a classifier's probabilities) is the requested one."""
    probs = np.asarray(probs)
    requested = np.asarray(requested).reshape(-1)
    if probs.ndim != 2 or len(probs) != len(requested):
        raise ValueError(f"probs must be (N, classes) for N={len(requested)} labels, got {probs.shape}")
    return float(np.mean(np.argmax(probs, axis=1) == requested))
