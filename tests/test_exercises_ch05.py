"""Chapter 05 checkers accept right answers and reject typical (and the articles') mistakes."""

import keras
import numpy as np

import utils  # noqa: F401
from utils.chapters import latent as L
from utils.exercises import ch05 as ex


def _status(q, answer):
    return q.evaluate(answer).status


def _message(q, answer):
    return q.evaluate(answer).message


def _stub(*args):
    raise NotImplementedError


# ---------------------------------------------------------------- q3 interpolate


def test_q3_interpolate():
    assert _status(ex.q3, L.interpolate) == "correct"
    assert _status(ex.q3, lambda a, b, n: [a + t * (b - a) for t in np.linspace(0, 1, n)]) == "correct"
    assert "(steps, d)" in _message(ex.q3, lambda a, b, n: L.interpolate(a, b, n).T)
    assert "backwards" in _message(ex.q3, lambda a, b, n: L.interpolate(b, a, n))
    no_end = lambda a, b, n: np.array([a + t * (b - a) for t in np.linspace(0, 1, n, endpoint=False)])  # noqa: E731
    assert "includes both ends" in _message(ex.q3, no_end)
    squared = lambda a, b, n: np.array([a + t**2 * (b - a) for t in np.linspace(0, 1, n)])  # noqa: E731
    assert "evenly spaced" in _message(ex.q3, squared)
    assert _status(ex.q3, _stub) == "not attempted"


# ---------------------------------------------------------------- q4 slerp


def test_q4_slerp():
    assert _status(ex.q4, L.slerp) == "correct"
    assert "linear interpolation" in _message(ex.q4, L.lerp)

    def unit(z0, z1, t):
        out = L.slerp(z0, z1, t)
        return out / np.linalg.norm(out)

    assert "norm 1" in _message(ex.q4, unit)

    def wrong_weights(z0, z1, t):  # right at 0, 0.5, 1 only by symmetry
        s = 0.5 - 0.5 * np.cos(np.pi * t)
        return L.slerp(z0, z1, s)

    assert _status(ex.q4, wrong_weights) == "incorrect"
    assert _status(ex.q4, _stub) == "not attempted"


# ---------------------------------------------------------------- q1 embed


def test_q1_embed():
    assert _status(ex.q1, L.encode_mean) == "correct"
    assert _status(ex.q1, lambda enc, x: enc(x)[0]) == "correct"
    assert "z_log_var" in _message(ex.q1, lambda enc, x: enc(x)[1])
    assert "list" in _message(ex.q1, lambda enc, x: np.stack(enc(x)))

    def sampled(enc, x):  # article 001 exposed the sampled z as if it were the code
        mean, log_var = (np.asarray(t) for t in enc(x))
        return mean + np.exp(0.5 * log_var) * np.random.standard_normal(mean.shape)

    assert "sampling" in _message(ex.q1, sampled)
    assert _status(ex.q1, _stub) == "not attempted"


# ---------------------------------------------------------------- q2 reconstruct


def test_q2_reconstruct():
    assert _status(ex.q2, L.reconstruct) == "correct"
    assert _status(ex.q2, lambda e, d, x: keras.ops.sigmoid(d(e(x)[0]))) == "correct"
    assert "sigmoid" in _message(ex.q2, lambda e, d, x: d(e(x)[0]))

    def sampled(e, d, x):
        mean, log_var = (np.asarray(t) for t in e(x))
        z = mean + np.exp(0.5 * log_var) * np.random.standard_normal(mean.shape)
        return keras.ops.sigmoid(d(z.astype("float32")))

    assert "posterior mean" in _message(ex.q2, sampled)

    def wrong_model(e, d, x):  # article 000: predict with the model that expects the other input
        return keras.ops.sigmoid(d.predict(x, verbose=0))

    assert _status(ex.q2, wrong_model) == "incorrect"
    assert _status(ex.q2, _stub) == "not attempted"
