"""Chapter 09's checkers: right answers pass, typical mistakes are caught with a useful message,
stubs are 'not attempted'."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from conftest import message, status, stub  # noqa: E402

from utils.exercises import ch09 as ex  # noqa: E402


@pytest.mark.parametrize("exercise", ex.EXERCISES, ids=lambda e: e.title[:20])
def test_stub_is_not_attempted(exercise):
    assert status(exercise, stub) == "not attempted"


def test_label_agreement():
    assert status(ex.q1, lambda p, r: float(np.mean(np.argmax(p, 1) == r))) == "correct"
    assert "fraction" in message(ex.q1, lambda p, r: int(np.sum(np.argmax(p, 1) == r)))
    assert "MOST" in message(ex.q1, lambda p, r: float(np.mean(p[np.arange(len(r)), r])))
    assert status(ex.q1, lambda p, r: float(np.mean(np.argmax(p, 0)[: len(r)] == r))) == "incorrect"


def test_masked_mse():
    right = lambda x, xh, m: keras.ops.sum(m * keras.ops.square(x - xh)) / keras.ops.sum(m)  # noqa: E731
    assert status(ex.q2, right) == "correct"
    assert "including the hole" in message(ex.q2, lambda x, xh, m: keras.ops.mean(keras.ops.square(x - xh)))
    inverted = lambda x, xh, m: keras.ops.sum((1 - m) * keras.ops.square(x - xh)) / keras.ops.sum(1 - m)  # noqa: E731
    assert "inverted" in message(ex.q2, inverted)
    assert "observed pixels" in message(ex.q2, lambda x, xh, m: keras.ops.mean(m * keras.ops.square(x - xh)))
    numpy_only = lambda x, xh, m: np.sum(np.asarray(m) * (np.asarray(x) - np.asarray(xh)) ** 2) / np.sum(m)  # noqa: E731
    assert "gradient" in message(ex.q2, numpy_only)


def test_psnr():
    def right(a, b, max_value=1.0):
        mse = np.mean((np.asarray(a) - np.asarray(b)) ** 2, axis=(1, 2, 3))
        return float(np.mean(10 * np.log10(max_value**2 / mse)))

    assert status(ex.q3, right) == "correct"
    pooled = lambda a, b, mv=1.0: 10 * np.log10(mv**2 / np.mean((a - b) ** 2))  # noqa: E731
    assert "pooled" in message(ex.q3, pooled)
    ignores_max = lambda a, b, mv=1.0: right(a, b, 1.0)  # noqa: E731
    assert "max_value" in message(ex.q3, ignores_max)
    assert "sign" in message(ex.q3, lambda a, b, mv=1.0: -right(a, b, mv))
    tf_psnr = lambda a, b, mv=1.0: float(tf.reduce_mean(tf.image.psnr(a, b, max_val=mv)))  # noqa: E731
    assert status(ex.q3, tf_psnr) == "correct"


def test_replica_loss():
    assert status(ex.q4, lambda per, g: tf.reduce_sum(per) / g) == "correct"
    assert status(ex.q4, lambda per, g: tf.nn.compute_average_loss(per, global_batch_size=g)) == "correct"
    assert "GLOBAL" in message(ex.q4, lambda per, g: tf.reduce_mean(per))  # the classic multi-replica bug
    assert "divide" in message(ex.q4, lambda per, g: tf.reduce_sum(per))
