"""Chapter 06 (section 6): a yardstick for the procedural faces, built as chapter 07 builds one for digits.

The procedural faces of `utils.chapters.synthesis` are labelled by construction: every face comes with
the attributes it was drawn from. A small CNN learns four of them from faces no GAN trains on
(`train_face_classifier`; cached by `get_face_classifier` under artifacts/06_faces_project/):

  hair_style (short, long, bald, bun, afro), mouth (smile, neutral, open), glasses (no, yes),
  skin (the seven base skin tones, lightest first)

Its penultimate layer ("features", 64 ReLU units) is the feature space of a **face-FID** and of k-NN
precision/recall, computed with chapter 07's functions (`utils.metrics.fid_from_features`,
`utils.metrics.precision_recall`), and its four heads give **attribute statistics**: the share of
samples predicted with glasses, each mouth, each hair style, compared with real faces by the total
variation distance (half the summed absolute differences of the two shares; 0 = same mix, 1 = disjoint).
`evaluate_faces` returns all of them; quote the real-vs-real floor at the same N beside any face-FID,
as chapter 07 does. `BestOnValidation` is chapter 06's stopping rule: it keeps the generator whose face-FID
on validation faces (another seed) was lowest during training; `refreshed_generator` recomputes a weight
average's BatchNorm statistics. Images are (N, 64, 64, 3) in [-1, 1] (a
generator's tanh output) unless `value_range` says otherwise.
"""

from __future__ import annotations

import time

import numpy as np

from .. import config
from ..data import to_unit_range
from ..gan import generate, sample_latent
from ..metrics import fid_from_features, precision_recall
from ..paths import artifact_dir, find_artifact, shown_path
from . import synthesis

CHAPTER = "06_faces_project"
CLASSIFIER_FILE = "face_classifier.keras"
FEATURE_LAYER = "features"
IMAGE_SHAPE = (64, 64, 3)
SKIN_TONES = tuple(f"tone {i + 1}" for i in range(len(synthesis._SKIN)))
ATTRIBUTES = {"hair_style": synthesis.HAIR_STYLES, "mouth": synthesis.MOUTHS, "glasses": ("no", "yes"),
              "skin": SKIN_TONES}
CLASSIFIER_SEED = 2  # faces the classifier learns from (chapter 06's GAN trains on seed 1)
REFERENCE_SEED = 3  # held-out faces every sample set is compared with
VALIDATION_SEED = 4  # faces that choose which weights to keep (never the held-out seed 3, which judges them)
REFRESH_SEED = 5  # latent vectors that recompute BatchNorm statistics (`BestOnValidation(refresh_batchnorm=True)`)

_CACHE: dict = {}


def face_labels(attributes) -> dict[str, np.ndarray]:
    """Integer labels per attribute (see `ATTRIBUTES`) from `cartoon_faces(..., return_attributes=True)`."""
    skin = np.asarray([a["skin_color"] for a in attributes], dtype=np.float32).reshape(-1, 1, 3)
    return {
        "hair_style": np.array([ATTRIBUTES["hair_style"].index(a["hair_style"]) for a in attributes]),
        "mouth": np.array([ATTRIBUTES["mouth"].index(a["mouth"]) for a in attributes]),
        "glasses": np.array([int(a["glasses"]) for a in attributes]),
        # the drawn colour is a base tone plus a little jitter: the nearest base tone is its label
        "skin": np.argmin(np.linalg.norm(skin - synthesis._SKIN[None], axis=2), axis=1),
    }


def labelled_faces(n: int, seed: int):
    """n procedural faces in [-1, 1] and their labels (`face_labels`)."""
    images, attributes = synthesis.cartoon_faces(int(n), size=IMAGE_SHAPE[0], seed=seed, return_attributes=True)
    return images * 2.0 - 1.0, face_labels(attributes)


def _as_faces(images, value_range: str = "tanh") -> np.ndarray:
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"expected faces of shape (N, 64, 64, 3), got {x.shape}")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        raise ValueError("images contain NaN or infinite values: the generator diverged")
    return to_unit_range(x, value_range)


# ------------------------------------------------------------------------------------ the classifier
def build_face_classifier(feature_dim: int = 64, name: str = "face_classifier"):
    """An untrained CNN: (N, 64, 64, 3) in [0, 1] -> one logit vector per attribute, penultimate "features"."""
    import keras
    from keras import layers

    inputs = keras.Input(IMAGE_SHAPE, name="image")
    x = inputs
    for filters in (32, 64, 128, 128):  # 64 -> 32 -> 16 -> 8 -> 4 pixels
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Dropout(0.3)(layers.Flatten()(x))
    features = layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER)(x)
    outputs = {attr: layers.Dense(len(values), name=attr)(features) for attr, values in ATTRIBUTES.items()}
    return keras.Model(inputs, outputs, name=name)


def _shift(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random shifts of up to 3 pixels, so the classifier does not rely on exact positions."""
    out = np.empty_like(x)
    for i, (dy, dx) in enumerate(rng.integers(-3, 4, size=(len(x), 2))):
        out[i] = np.roll(x[i], (dy, dx), axis=(0, 1))
    return out


def train_face_classifier(n_faces: int = 6000, epochs: int = 6, seed: int = CLASSIFIER_SEED, verbose: bool = True):
    """Draw `n_faces` labelled faces (seed `seed`) and train `build_face_classifier()` on them."""
    import keras

    images, labels = labelled_faces(n_faces, seed)
    x = to_unit_range(images, "tanh")
    keras.utils.set_random_seed(seed)
    model = build_face_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={attr: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for attr in ATTRIBUTES})
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        model.optimizer.learning_rate.assign(1e-3 * 0.5 ** max(0, epoch - epochs // 2))  # halve late on
        history = model.fit(_shift(x, rng) if epoch < epochs - 1 else x, labels, batch_size=64, verbose=0)
        if verbose:
            print(f"  face classifier epoch {epoch + 1}/{epochs}: loss {history.history['loss'][-1]:.3f}")
    return model


def attribute_accuracy(classifier, images, labels, value_range: str = "tanh") -> dict[str, float]:
    """Share of faces whose attribute the classifier predicts right, per attribute."""
    probs = predict_attributes(images, classifier, value_range)
    return {attr: float(np.mean(probs[attr].argmax(1) == labels[attr])) for attr in ATTRIBUTES}


def get_face_classifier(verbose: bool = True, retrain: bool = False):
    """The course's face classifier: loaded from artifacts when saved, else trained once and saved.

    Full mode: 6,000 faces, 6 epochs (about a minute on 2 CPU cores); fast mode 800 faces, 2 epochs.
    """
    import keras

    path = None if retrain else find_artifact(CHAPTER, CLASSIFIER_FILE)
    if path is not None:
        key = (str(path), path.stat().st_mtime)
        if key not in _CACHE:
            _CACHE[key] = keras.models.load_model(path)
        if verbose:
            print(f"Loaded the face classifier from {shown_path(path)}")
        return _CACHE[key]
    n_faces, epochs = config.pick(800, 6000), config.pick(2, 6)
    if verbose:
        print(f"Training the face classifier ({epochs} epochs on {n_faces} faces of seed {CLASSIFIER_SEED}, "
              "which no GAN trains on) ...")
    start = time.perf_counter()
    model = train_face_classifier(n_faces, epochs, verbose=verbose)
    held_out, labels = labelled_faces(config.pick(200, 1000), REFERENCE_SEED)
    accuracy = attribute_accuracy(model, held_out, labels)
    target = artifact_dir(CHAPTER) / CLASSIFIER_FILE
    model.save(target)
    if verbose:
        shown = ", ".join(f"{attr} {acc:.3f}" for attr, acc in accuracy.items())
        print(f"Held-out accuracy {shown} after {time.perf_counter() - start:.0f} s; saved to {shown_path(target)}")
    _CACHE[(str(target), target.stat().st_mtime)] = model
    return model


# ------------------------------------------------------------------------------------ the yardstick
def _predict(images, classifier, value_range):
    x = _as_faces(images, value_range)
    classifier = get_face_classifier(verbose=False) if classifier is None else classifier
    key = ("features", id(classifier))
    if _CACHE.get(key, (None,))[0] is not classifier:
        import keras

        outputs = {FEATURE_LAYER: classifier.get_layer(FEATURE_LAYER).output, **classifier.output}
        _CACHE[key] = (classifier, keras.Model(classifier.inputs, outputs))
    return _CACHE[key][1].predict(x, batch_size=250, verbose=0)


def face_features(images, classifier=None, value_range: str = "tanh") -> np.ndarray:
    """The classifier's 64 penultimate features of each face, (N, 64)."""
    return np.asarray(_predict(images, classifier, value_range)[FEATURE_LAYER], dtype=np.float64)


def _softmax(logits) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def predict_attributes(images, classifier=None, value_range: str = "tanh") -> dict[str, np.ndarray]:
    """Class probabilities per attribute: {attribute: (N, number of values)}."""
    out = _predict(images, classifier, value_range)
    return {attr: _softmax(out[attr]) for attr in ATTRIBUTES}


def attribute_shares(probs: dict) -> dict[str, np.ndarray]:
    """For each attribute, the share of faces predicted as each value (argmax), summing to 1."""
    return {attr: np.bincount(np.asarray(p).argmax(1), minlength=np.asarray(p).shape[1]) / len(p)
            for attr, p in probs.items()}


def attribute_gaps(fake_shares: dict, real_shares: dict) -> dict[str, float]:
    """Total variation distance between the fake and real share of each attribute (0 = same mix, 1 = disjoint)."""
    return {attr: float(0.5 * np.abs(np.asarray(fake_shares[attr]) - np.asarray(real_shares[attr])).sum())
            for attr in real_shares}


def sample_faces(generator, n: int, seed: int = 0, batch_size: int = 250) -> np.ndarray:
    """n faces from a Keras generator (z ~ N(0, I), inference mode) or a function f(n), as a NumPy array."""
    if not hasattr(generator, "inputs"):
        return np.asarray(generator(n))
    return generate(generator, n, seed=seed, batch_size=batch_size)


def evaluate_faces(generator_or_images, real_images, n: int | None = None, classifier=None, k: int = 3,
                   seed: int = 0, value_range: str = "tanh") -> dict:
    """Face-FID, precision, recall and attribute statistics of a face generator (or images) against real faces.

    Returns fid, precision, recall, gaps (total variation per attribute), shares (fake) and real_shares,
    glasses (share of samples with glasses) and n. `real_images`: held-out real faces (for example
    `labelled_faces(1000, REFERENCE_SEED)[0]`); both sets use the first `n` images (default: all real ones).
    """
    n = len(real_images) if n is None else int(n)
    if not k < n <= len(real_images):
        raise ValueError(f"n must be more than k={k} and at most the {len(real_images)} real faces, got {n}")
    fake = generator_or_images
    if not isinstance(fake, np.ndarray):
        fake = sample_faces(fake, n, seed=seed)
    if len(fake) < n:
        raise ValueError(f"got {len(fake)} generated faces, need n={n}")
    real_out = _predict(real_images[:n], classifier, "tanh")
    fake_out = _predict(fake[:n], classifier, value_range)
    real_f, fake_f = (np.asarray(o[FEATURE_LAYER], np.float64) for o in (real_out, fake_out))
    precision, recall = precision_recall(real_f, fake_f, k=k)
    shares = attribute_shares({attr: _softmax(fake_out[attr]) for attr in ATTRIBUTES})
    real_shares = attribute_shares({attr: _softmax(real_out[attr]) for attr in ATTRIBUTES})
    return {"fid": fid_from_features(real_f, fake_f), "precision": precision, "recall": recall,
            "gaps": attribute_gaps(shares, real_shares), "shares": shares, "real_shares": real_shares,
            "glasses": float(shares["glasses"][1]), "n": n}


# ------------------------------------------------------------------------ choosing when to stop
def with_refreshed_batchnorm(model, inputs, batch_size: int = 256):
    """A copy of `model` (same weights) whose BatchNorm layers hold the exact statistics of their inputs.

    A `WeightAverage` averages BatchNorm's running statistics along with the weights, but the averaged
    weights give activations whose statistics are not the average of the past ones. This copies a
    `keras.Sequential` model, runs `inputs` (e.g. 1,000 latent vectors for a generator) through the copy
    layer by layer in inference mode and, at each BatchNorm, stores the mean and the (biased) variance over
    all of them, as BigGAN's "standing statistics" do. `model` itself is left as it was.
    """
    import keras

    if not isinstance(model, keras.Sequential):
        raise TypeError(f"with_refreshed_batchnorm walks a keras.Sequential, got {type(model).__name__}")
    outputs = [np.asarray(inputs[i:i + batch_size], "float32") for i in range(0, len(inputs), batch_size)]
    if not outputs:
        raise ValueError("with_refreshed_batchnorm needs at least one input")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in copy.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            axes = tuple(range(outputs[0].ndim - 1))  # every axis but the channels
            count = sum(int(np.prod([x.shape[a] for a in axes])) for x in outputs)
            mean = sum(x.astype("float64").sum(axes) for x in outputs) / count
            variance = sum(((x - mean) ** 2).sum(axes) for x in outputs) / count
            layer.moving_mean.assign(mean.astype("float32"))
            layer.moving_variance.assign(variance.astype("float32"))
        outputs = [np.asarray(layer(x, training=False)) for x in outputs]
    return copy


def refreshed_generator(generator, n: int | None = None):
    """A copy of `generator` whose BatchNorm statistics are those of its own activations on `n` latent vectors
    (seed `REFRESH_SEED`; `with_refreshed_batchnorm`): what a weight average of G is judged and
    kept as, since averaging the running statistics along with the weights does not give the right ones.
    `n` defaults to 1,000 in full mode and 256 in fast mode (chapter 06's G takes about 1.6 s for 1,000 on 2 cores)."""
    n = config.pick(256, 1000) if n is None else int(n)
    latent_dim = int(generator.inputs[0].shape[-1])
    return with_refreshed_batchnorm(generator, sample_latent(n, latent_dim, REFRESH_SEED))


class BestOnValidation:
    """Keep the weights a generator had when its face-FID on *validation* faces was lowest.

    A GAN's samples do not improve step after step: they can get worse late in a run. `check(step)`
    scores `generator` against `n` validation faces (`VALIDATION_SEED`, never the held-out faces that judge
    the result, so the final judgement stays unbiased) and copies its weights into `.best` when that
    score is the lowest so far. `scores` maps each checked step to its validation face-FID. The validation
    faces' features are computed here, so loading (or first training) the classifier happens before training.
    `refresh_batchnorm=True` judges (and keeps) `refreshed_generator(generator)`, as a weight average needs.
    """

    def __init__(self, generator, n: int = 500, classifier=None, seed: int = VALIDATION_SEED,
                 noise_seed: int = 11, refresh_batchnorm: bool = False):
        import keras

        if int(n) < 10:  # a Fréchet distance needs a covariance of the 64 features; 500 gives a stable one
            raise ValueError(f"BestOnValidation needs at least 10 validation faces (500 is the default), got {n}")
        self.classifier = get_face_classifier() if classifier is None else classifier
        self.generator, self.noise_seed = generator, noise_seed
        self.refresh_batchnorm = refresh_batchnorm
        self.validation = labelled_faces(n, seed)[0]
        self._real_features = face_features(self.validation, self.classifier)
        self.best = keras.models.clone_model(generator)
        self.best.set_weights(generator.get_weights())
        self.scores: dict[int, float] = {}
        self.best_step: int | None = None

    @property
    def best_fid(self) -> float:
        return self.scores[self.best_step] if self.best_step is not None else float("inf")

    def check(self, step: int) -> float:
        """Score the generator now (its validation face-FID, returned); keep its weights if best so far."""
        judged = refreshed_generator(self.generator) if self.refresh_batchnorm else self.generator
        fake = face_features(sample_faces(judged, len(self.validation), seed=self.noise_seed), self.classifier)
        fid = fid_from_features(self._real_features, fake)
        if fid < self.best_fid:
            self.best.set_weights(judged.get_weights())
            self.best_step = int(step)
        self.scores[int(step)] = fid
        return fid
