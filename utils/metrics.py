"""Judging generators on MNIST (chapter 07, sections 2-8): a classifier, classifier-FID and score, precision/recall.

The yardstick is a small CNN MNIST classifier (`get_classifier`), trained once and cached under
`artifacts/07_evaluating_generators/mnist_classifier.keras` (fast-mode runs under `artifacts/fast/`).
Offline (COURSE_DATA_DIR with only the t10k files) it trains on the 8,000-image training split and
never sees the 2,000 held-out test digits, so "real held-out digits" can be scored fairly.

Conventions
-----------
* The classifier's input is float32 (N, 28, 28, 1) in [0, 1]; `to_classifier_input` converts what a
  generator gives you (uint8, tanh images in [-1, 1], [0, 1] images; with or without a channel axis).
* The classifier outputs **logits** (10 values); `classifier_probs` applies the softmax. Its
  penultimate layer, named "features" (64 ReLU units), is the feature space of `classifier_features`,
  `classifier_fid` and `precision_recall`.
* Scores computed with this classifier are comparable with each other (same classifier, same number
  of samples), not with published Inception-FID numbers.

`digit_quality` is the quick check chapters 02 and 03 use before chapter 07. Everything raises
`ValueError` with a plain message on bad shapes or too few samples.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from . import config
from .data import to_unit_range
from .paths import artifact_dir, find_artifact, shown_path

CHAPTER = "07_evaluating_generators"
CLASSIFIER_FILE = "mnist_classifier.keras"
FEATURE_LAYER = "features"
FEATURE_DIM = 64
NUM_CLASSES = 10

_CACHE: dict = {}  # in-memory: the loaded classifier and its feature model, keyed by id / path


# ---------------------------------------------------------------- input conversion
def to_classifier_input(images, value_range="auto") -> np.ndarray:
    """Return float32 (N, 28, 28, 1) in [0, 1], the classifier's input, from any usual image format.

    `images`: (N, 28, 28) or (N, 28, 28, 1) (NumPy or a tensor), as uint8 0..255, floats in [0, 1]
    or floats in [-1, 1]. `value_range`: as `utils.to_unit_range` ("auto", "tanh", "unit", "uint8"
    or a pair), the one home of the range rules. NaN or infinite values raise: a metric must not
    score a diverged generator as if its images were black.
    """
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1):
        raise ValueError(
            f"expected MNIST-sized images of shape (N, 28, 28) or (N, 28, 28, 1), got {tuple(np.shape(images))}"
        )
    if x.shape[0] == 0:
        raise ValueError("got an empty batch of images (N = 0)")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise ValueError("images contain NaN or infinite values: the generator diverged")
    return to_unit_range(x, value_range)


# ---------------------------------------------------------------- the classifier
def build_classifier(feature_dim: int = FEATURE_DIM, name: str = "mnist_classifier"):
    """An untrained small CNN: (N, 28, 28, 1) in [0, 1] -> 10 logits, penultimate layer "features"."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)  # 14x14
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)  # 7x7
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER)(x)
    x = layers.Dropout(0.3)(x)
    logits = layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def _augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random shifts of up to 2 pixels (cheap augmentation that helps with only 8,000 training images)."""
    out = np.zeros_like(x)
    shifts = rng.integers(-2, 3, size=(len(x), 2))
    for i, (dy, dx) in enumerate(shifts):
        out[i] = np.roll(np.roll(x[i], dy, axis=0), dx, axis=1)
    return out


def train_classifier(x_train, y_train, epochs: int = 6, batch_size: int = 64, seed: int = 0,
                     augment: bool = True, verbose: bool = True):
    """Train `build_classifier()` on (x_train, y_train) and return it. x_train in any range (see above)."""
    import keras

    x = to_classifier_input(x_train)
    y = np.asarray(y_train).astype("int32")
    if y.shape != (len(x),):
        raise ValueError(f"{len(x)} images but labels of shape {y.shape}")
    keras.utils.set_random_seed(seed)
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        xe = _augment(x, rng) if augment and epoch < epochs - 1 else x
        model.optimizer.learning_rate.assign(1e-3 * (0.5 ** max(0, epoch - epochs // 2)))
        hist = model.fit(xe, y, batch_size=batch_size, epochs=1, shuffle=True, verbose=0)
        if verbose:
            print(f"  classifier epoch {epoch + 1}/{epochs}: train accuracy {hist.history['accuracy'][-1]:.4f}")
    return model


def classifier_accuracy(classifier, images, labels) -> float:
    """Fraction of `images` the classifier labels correctly."""
    logits = classifier.predict(to_classifier_input(images), batch_size=500, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


def get_classifier(data=None, verbose: bool = True, retrain: bool = False):
    """The course's MNIST classifier (logits): loaded from artifacts when saved, else trained once and saved.

    Trains on `data.x_train` only (default `utils.load_mnist()`), reports accuracy on `data.x_test`;
    full mode 6 epochs (about 99% held-out accuracy offline), fast mode 2, saved under artifacts/fast/.
    """
    import keras

    path = None if retrain else find_artifact(CHAPTER, CLASSIFIER_FILE)
    if path is not None:
        key = ("path", str(path), path.stat().st_mtime)
        if key not in _CACHE:
            _CACHE[key] = keras.models.load_model(path)
        if verbose:
            print(f"Loaded the MNIST classifier from {shown_path(path)}")
        return _CACHE[key]
    if data is None:
        from .data import load_mnist

        data = load_mnist()
    epochs = config.pick(2, 6)
    if verbose:
        print(f"Training the MNIST classifier ({epochs} epochs on {len(data.x_train)} training images; "
              "the held-out test digits are never used for training) ...")
    start = time.perf_counter()
    model = train_classifier(data.x_train, data.y_train, epochs=epochs, verbose=verbose)
    seconds = time.perf_counter() - start
    accuracy = classifier_accuracy(model, data.x_test, data.y_test)
    target = artifact_dir(CHAPTER) / CLASSIFIER_FILE
    model.save(target)
    if verbose:
        print(f"Held-out accuracy {accuracy:.4f} after {seconds:.0f} s; saved to {shown_path(target)}")
    _CACHE[("path", str(target), target.stat().st_mtime)] = model
    return model


def _resolve(classifier):
    return get_classifier(verbose=False) if classifier is None else classifier


def _feature_model(classifier):
    import keras

    key = ("features", id(classifier))
    cached = _CACHE.get(key)
    if cached is None or cached[0] is not classifier:
        try:
            layer = classifier.get_layer(FEATURE_LAYER)
        except ValueError as err:
            raise ValueError(
                f"the classifier has no layer named {FEATURE_LAYER!r}; build it with build_classifier() "
                "or name its penultimate layer 'features'"
            ) from err
        cached = (classifier, keras.Model(classifier.inputs, layer.output))
        _CACHE[key] = cached
    return cached[1]


def classifier_features(images, classifier=None, batch_size: int = 500) -> np.ndarray:
    """Penultimate-layer features (N, 64) of the classifier for `images` (any range, see module doc)."""
    x = to_classifier_input(images)
    model = _feature_model(_resolve(classifier))
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)


def classifier_probs(images, classifier=None, batch_size: int = 500) -> np.ndarray:
    """Class probabilities p(y|x), shape (N, 10), rows summing to 1."""
    x = to_classifier_input(images)
    logits = np.asarray(_resolve(classifier).predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- Frechet distance
def _as_2d_features(features, name: str, min_samples: int = 2) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N samples, D features), got shape {f.shape}")
    if f.shape[0] < min_samples:
        raise ValueError(f"{name} has {f.shape[0]} samples; need at least {min_samples}")
    if not np.all(np.isfinite(f)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return f


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), N >= 2 (unbiased covariance)."""
    f = _as_2d_features(features, "features")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)), the Frechet distance of two Gaussians.

    A near-singular product gets an `eps` * I offset; sqrtm's rounding-size imaginary parts are dropped
    (a large one raises ValueError: the covariances are not valid).
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.ndim != 1 or mu2.shape != mu1.shape:
        raise ValueError(f"means must be vectors of the same length, got {mu1.shape} and {mu2.shape}")
    if sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"covariances must be ({d}, {d}) to match the means, got {sigma1.shape} and {sigma2.shape}")
    for name, value in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} contains NaN or infinite values")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products (N < D features) are expected; handled below
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.all(np.isfinite(covmean)):
            offset = np.eye(d) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        scale = max(1.0, float(np.max(np.abs(covmean.real))))
        if np.max(np.abs(covmean.imag)) > 1e-3 * scale:
            raise ValueError(f"sqrtm returned a large imaginary part ({np.max(np.abs(covmean.imag)):.3g}): "
                             "the covariances are not symmetric positive semi-definite")
        covmean = covmean.real
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)  # rounding can give -1e-12 for identical inputs


def fid_from_features(real_features, fake_features) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N, D) and (M, D)."""
    real = _as_2d_features(real_features, "real_features")
    fake = _as_2d_features(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: real {real.shape[1]}, fake {fake.shape[1]}")
    return frechet_distance(*feature_statistics(real), *feature_statistics(fake))


def classifier_fid(real_images, fake_images, classifier=None) -> float:
    """Classifier-FID in the penultimate features: lower is better, 0 for identical sets. It rises as N
    falls: compare models at the same N, and with the real-vs-real floor at that N."""
    clf = _resolve(classifier)
    return fid_from_features(classifier_features(real_images, clf), classifier_features(fake_images, clf))


# ---------------------------------------------------------------- Inception-style score
def score_from_probs(probs, splits: int = 1, return_std: bool = False):
    """exp(E_x[KL(p(y|x) || p(y))]) from class probabilities (N, C); the mean over `splits` groups.

    1 for a set whose predictions are all the same; C (here 10) for confident predictions spread evenly
    over the C classes; it does not see memorised training images. `return_std=True`: (mean, std) over splits.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must be (N samples, C classes) with C >= 2, got shape {p.shape}")
    if not isinstance(splits, (int, np.integer)) or splits < 1:
        raise ValueError(f"splits must be a positive integer, got {splits!r}")
    if p.shape[0] < splits or p.shape[0] < 1:
        raise ValueError(f"{p.shape[0]} samples cannot be cut into {splits} splits")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probs rows must be probabilities (non-negative, summing to 1); apply softmax to logits")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(float(np.exp(kl.mean())))
    mean = float(np.mean(scores))
    return (mean, float(np.std(scores))) if return_std else mean


def classifier_score(images, classifier=None, splits: int = 1, return_std: bool = False):
    """Inception-style score with the MNIST classifier: exp(E[KL(p(y|x) || p(y))]), between 1 and 10. High when
    each sample is classified confidently AND classes are used evenly; blind to variety within a class."""
    return score_from_probs(classifier_probs(images, classifier), splits=splits, return_std=return_std)


# ---------------------------------------------------------------- precision / recall, neighbours
def pairwise_distances(a, b, chunk: int = 1024) -> np.ndarray:
    """Euclidean distances (N, M) between rows of a (N, D) and b (M, D), in chunks to bound memory."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    b2 = np.sum(b * b, axis=1)
    out = np.empty((len(a), len(b)))
    for start in range(0, len(a), chunk):
        part = a[start:start + chunk]
        sq = np.sum(part * part, axis=1)[:, None] + b2[None, :] - 2.0 * part @ b.T
        out[start:start + chunk] = np.sqrt(np.maximum(sq, 0.0))
    return out


def knn_radii(features, k: int = 3) -> np.ndarray:
    """Distance from each point to its k-th nearest other point in the same set (self excluded)."""
    f = np.asarray(features, np.float64)
    d = pairwise_distances(f, f)
    np.fill_diagonal(d, np.inf)
    return np.partition(d, k - 1, axis=1)[:, k - 1]


def manifold_coverage(points, reference, k: int = 3) -> float:
    """Fraction of `points` inside the k-NN manifold of `reference` (the union of balls around each
    reference point with radius its distance to its k-th nearest reference neighbour)."""
    radii = knn_radii(reference, k)
    d = pairwise_distances(points, reference)
    return float(np.mean(np.any(d <= radii[None, :], axis=1)))


def precision_recall(real_features, fake_features, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al., 2019) with k-nearest-neighbour manifolds.

    precision: fraction of fake samples inside the real manifold (are the samples realistic?);
    recall: fraction of real samples inside the fake manifold (is the variety of the data covered?).
    Both in [0, 1]. Needs more than k samples in each set; use the same N for both sets.
    """
    real = _as_2d_features(real_features, "real_features")
    fake = _as_2d_features(fake_features, "fake_features")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: real {real.shape[1]}, fake {fake.shape[1]}")
    for name, f in (("real_features", real), ("fake_features", fake)):
        if len(f) <= k:
            raise ValueError(f"{name} has {len(f)} samples; the k-NN manifold needs more than k={k}")
    return manifold_coverage(fake, real, k), manifold_coverage(real, fake, k)


def nearest_neighbours(fake_images, train_images, k: int = 1, space: str = "pixel", classifier=None):
    """For each fake image, its k nearest training images: (distances (N, k), indices (N, k)).

    `space="pixel"`: Euclidean distance between images scaled to [0, 1] (28x28 = 784 values);
    `space="features"`: distance in the classifier's penultimate features. A generator that copies
    its training set has fake-to-train distances far below those of held-out real digits to train.
    """
    if space not in ("pixel", "features"):
        raise ValueError(f"space must be 'pixel' or 'features', got {space!r}")
    if space == "pixel":
        fake = to_classifier_input(fake_images).reshape(len(np.asarray(fake_images)), -1)
        train = to_classifier_input(train_images).reshape(len(np.asarray(train_images)), -1)
    else:
        clf = _resolve(classifier)
        fake, train = classifier_features(fake_images, clf), classifier_features(train_images, clf)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= len(train):
        raise ValueError(f"k must be between 1 and the number of training images ({len(train)}), got {k!r}")
    d = pairwise_distances(fake, train)
    idx = np.argpartition(d, k - 1, axis=1)[:, :k]
    dk = np.take_along_axis(d, idx, axis=1)
    order = np.argsort(dk, axis=1)
    return np.take_along_axis(dk, order, axis=1), np.take_along_axis(idx, order, axis=1)


# ---------------------------------------------------------------- generators end to end
def sample_generator(generator, n: int, seed: int = 0, output: str = "auto", batch_size: int = 500) -> np.ndarray:
    """Draw n images from a generator and return them in [0, 1], shape (n, 28, 28, 1).

    `generator`: a Keras model taking z ~ N(0, I) (latent size read from its input shape), or any
    function `f(n) -> images`. `output`: "tanh" ([-1, 1]), "unit" ([0, 1]), "logits" (a VAE decoder
    with Bernoulli logits: the image is sigmoid(logits)) or "auto" (guess tanh/unit from the values).
    """
    if output not in ("auto", "tanh", "unit", "logits"):
        raise ValueError(f"output must be 'auto', 'tanh', 'unit' or 'logits', got {output!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    input_shape = getattr(generator, "input_shape", None)
    if input_shape is not None:
        if isinstance(input_shape, list):
            raise ValueError("the generator has several inputs; pass a function f(n) -> images instead")
        latent_shape = tuple(input_shape[1:])
        rng = np.random.default_rng(seed)
        parts = []
        for start in range(0, n, batch_size):
            z = rng.standard_normal((min(batch_size, n - start), *latent_shape)).astype("float32")
            parts.append(np.asarray(generator.predict(z, verbose=0)))
        images = np.concatenate(parts)
    elif callable(generator):
        images = np.asarray(generator(n))
    else:
        raise ValueError("generator must be a Keras model, a function f(n) -> images, or an array of images")
    if len(images) != n:
        raise ValueError(f"asked for {n} images, the generator returned {len(images)}")
    if output == "logits":
        images = 1.0 / (1.0 + np.exp(-np.asarray(images, np.float64)))
        return to_classifier_input(images.astype(np.float32), value_range="unit")
    return to_classifier_input(images, value_range="auto" if output == "auto" else output)


def evaluate_generator(generator_or_images, real_images, n: int | None = None, classifier=None,
                       k: int = 3, seed: int = 0, output: str = "auto") -> dict:
    """FID, score, precision and recall of a generator (or of a set of images) against real images.

    `generator_or_images`: images (N, 28, 28[, 1]) in any range, a Keras generator (z ~ N(0, I)), or a
    function f(n) -> images (see `sample_generator`). `real_images`: the reference set (held-out
    test digits). `n`: how many of each to use (default: all the real images). Returns a dict with
    keys fid, score, precision, recall, n.
    """
    clf = _resolve(classifier)
    real = to_classifier_input(real_images)
    n = len(real) if n is None else int(n)
    if n < 2 or n > len(real):
        raise ValueError(f"n must be between 2 and the number of real images ({len(real)}), got {n}")
    if n <= k:
        raise ValueError(f"n={n} is too few samples for k-NN precision/recall with k={k}")
    real = real[:n]
    if isinstance(generator_or_images, np.ndarray) or hasattr(generator_or_images, "numpy"):
        fake = to_classifier_input(generator_or_images)
        if len(fake) < n:
            raise ValueError(f"got {len(fake)} generated images, need n={n}")
        fake = fake[:n]
    else:
        fake = sample_generator(generator_or_images, n, seed=seed, output=output)
    real_f, fake_f = classifier_features(real, clf), classifier_features(fake, clf)
    precision, recall = precision_recall(real_f, fake_f, k=k)
    return {
        "fid": fid_from_features(real_f, fake_f),
        "score": classifier_score(fake, clf),
        "precision": precision,
        "recall": recall,
        "n": n,
    }


def digit_quality(images, classifier=None) -> dict:
    """The quick check of chapters 02 and 03 (section 6 of 02): how digit-like and how varied images look.

    confidence: mean top-class probability of the course's classifier (`get_classifier`); compare it
    with the same figure for real held-out digits, which the chapters print beside it. class_entropy:
    entropy (nats) of the histogram of predicted classes (log 10 = 2.30 when all ten digits are
    equally frequent; low values mean mode collapse). classes: digits predicted at least 1% of the time.
    """
    probs = classifier_probs(images, classifier)
    counts = np.bincount(probs.argmax(1), minlength=NUM_CLASSES) / len(probs)
    nonzero = counts[counts > 0]
    return {"confidence": float(probs.max(1).mean()),
            "class_entropy": float(-(nonzero * np.log(nonzero)).sum()),
            "classes": int((counts >= 0.01).sum())}
