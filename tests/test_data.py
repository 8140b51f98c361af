import gzip

import numpy as np
import pytest
from conftest import fake_digits, write_idx

import utils
from utils import data


def test_read_idx_round_trip_gz_and_plain(tmp_path):
    images, _ = fake_digits(5)
    np.testing.assert_array_equal(data.read_idx(write_idx(tmp_path / "a.gz", images)), images)
    np.testing.assert_array_equal(data.read_idx(write_idx(tmp_path / "a", images, compress=False)), images)


def test_read_idx_rejects_corrupt_files(tmp_path):
    images, _ = fake_digits(5)
    good = write_idx(tmp_path / "good", images, compress=False).read_bytes()
    (tmp_path / "truncated").write_bytes(good[:-10])
    with pytest.raises(data.DataError, match="truncated or corrupt"):
        data.read_idx(tmp_path / "truncated")
    (tmp_path / "magic").write_bytes(b"\x01\x02" + good[2:])
    with pytest.raises(data.DataError, match="magic number"):
        data.read_idx(tmp_path / "magic")
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(data.DataError, match="corrupt"):
        data.read_idx(tmp_path / "bad.gz")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 3, 0]))
    with pytest.raises(data.DataError, match="header"):
        data.read_idx(tmp_path / "short")


def test_t10k_only_folder_splits_8000_2000_and_says_so(t10k_folder, capsys):
    folder, images, labels = t10k_folder
    loaded = utils.load_mnist(data_dir=folder)
    assert loaded.x_train.shape == (8000, 28, 28) and loaded.x_test.shape == (2000, 28, 28)
    np.testing.assert_array_equal(loaded.x_train, images[:8000])
    np.testing.assert_array_equal(loaded.y_test, labels[8000:])
    assert "first 8000" in loaded.source and "last 2000" in loaded.source
    assert "first 8000" in capsys.readouterr().out


def test_course_data_dir_is_used_and_named_without_the_machines_folder(t10k_folder, monkeypatch):
    """Stored outputs are read on other machines: they name the setting, not this machine's path."""
    folder, _, _ = t10k_folder
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    source = utils.load_mnist(verbose=False).source
    assert "IDX files in COURSE_DATA_DIR" in source and str(folder) not in source
    assert "COURSE_DATA_DIR" in utils.env_report() and str(folder) not in utils.env_report()
    # A folder passed by hand is the learner's own: it is named as given.
    assert str(folder) in utils.load_mnist(data_dir=folder, verbose=False).source


def test_full_idx_folder_keeps_official_split(tmp_path):
    for split, n in (("train", 30), ("t10k", 10)):
        images, labels = fake_digits(n, seed=n)
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", labels)
    loaded = utils.load_mnist(data_dir=tmp_path, verbose=False)
    assert len(loaded.x_train) == 30 and len(loaded.x_test) == 10
    assert "only the t10k" not in loaded.source


def test_npz_full_and_test_only(tmp_path):
    images, labels = fake_digits(9000)
    np.savez(tmp_path / "mnist.npz", x_train=images[:50], y_train=labels[:50], x_test=images[:20], y_test=labels[:20])
    loaded = utils.load_mnist(data_dir=tmp_path, verbose=False)
    assert loaded.x_train.shape == (50, 28, 28)
    other = tmp_path / "other"
    other.mkdir()
    np.savez(other / "mnist.npz", x_test=images, y_test=labels)
    assert len(utils.load_mnist(data_dir=other, verbose=False).x_train) == 8000


def test_npz_errors(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"garbage")
    with pytest.raises(data.DataError, match="not an .npz archive"):
        utils.load_mnist(data_dir=tmp_path, verbose=False)
    np.savez(tmp_path / "mnist.npz", images=np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(data.DataError, match="lacks the keys"):
        utils.load_mnist(data_dir=tmp_path, verbose=False)
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((3, 32, 32), np.uint8), y_train=np.zeros(3),
             x_test=np.zeros((3, 28, 28), np.uint8), y_test=np.zeros(3))
    with pytest.raises(data.DataError, match=r"shape \(N, 28, 28\)"):
        utils.load_mnist(data_dir=tmp_path, verbose=False)


def test_wrong_shapes_labels_and_dtypes_in_idx(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((10, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(data.DataError, match="labels of shape"):
        utils.load_mnist(data_dir=tmp_path, verbose=False)
    with pytest.raises(data.DataError, match="dtype"):
        data._validate(np.zeros((2, 28, 28), np.float32), np.zeros(2), "x")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(10, np.uint8))
    with pytest.raises(data.DataError, match="too few to split"):
        utils.load_mnist(data_dir=tmp_path, verbose=False)


def test_missing_data_says_what_to_do(tmp_path):
    with pytest.raises(data.DataError, match="COURSE_DATA_DIR"):
        utils.load_mnist(data_dir=tmp_path, verbose=False)
    with pytest.raises(data.DataError, match="not a folder"):
        utils.load_mnist(data_dir=tmp_path / "nope", verbose=False)
    with pytest.raises(ValueError, match="one of"):
        data.load_dataset("cifar10", data_dir=tmp_path)


def test_fashion_mnist_lives_in_a_subfolder_or_its_own_npz(tmp_path, t10k_folder):
    folder, _, _ = t10k_folder
    with pytest.raises(data.DataError, match="fashion_mnist"):
        utils.load_fashion_mnist(data_dir=folder, verbose=False)  # MNIST's files are not Fashion-MNIST
    sub = folder / "fashion_mnist"
    sub.mkdir()
    images, labels = fake_digits(10_000, seed=3)
    write_idx(sub / "t10k-images-idx3-ubyte.gz", images)
    write_idx(sub / "t10k-labels-idx1-ubyte.gz", labels)
    np.testing.assert_array_equal(utils.load_fashion_mnist(data_dir=folder, verbose=False).x_test, images[8000:])
    npz_only = tmp_path / "npz_only"
    npz_only.mkdir()
    np.savez(npz_only / "fashion_mnist.npz", x_test=images, y_test=labels)
    assert "fashion_mnist.npz" in utils.load_fashion_mnist(data_dir=npz_only, verbose=False).source


def test_online_path_uses_keras_datasets(monkeypatch):
    import keras

    images, labels = fake_digits(12)
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((images, labels), (images[:4], labels[:4])))
    loaded = utils.load_mnist(verbose=False)
    assert loaded.source == "keras.datasets.mnist" and len(loaded.x_test) == 4

    def offline():
        raise OSError("URL fetch failure: no internet")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(data.DataError, match="COURSE_DATA_DIR"):
        utils.load_fashion_mnist(verbose=False)


def test_scaling_ranges_and_errors():
    x = np.array([[[0, 255]]], dtype=np.uint8)
    tanh = utils.scale_images(x)
    assert tanh.shape == (1, 1, 2, 1) and tanh.dtype == np.float32
    assert tanh.min() == -1 and tanh.max() == 1
    unit = utils.scale_images(x, to="unit")
    assert unit.min() == 0 and unit.max() == 1
    with pytest.raises(TypeError, match="uint8"):
        utils.scale_images(unit)
    with pytest.raises(ValueError, match="'tanh'"):
        utils.scale_images(x, to="0-1")
    with pytest.raises(ValueError, match="shape"):
        utils.scale_images(np.zeros((28, 28), np.uint8))
    np.testing.assert_allclose(utils.to_unit_range(tanh), unit)
    np.testing.assert_allclose(utils.to_unit_range(unit), unit)


def test_to_unit_range_takes_the_range_from_the_dtype_or_the_argument():
    np.testing.assert_allclose(utils.to_unit_range(np.array([0, 51, 255], np.uint8)), [0, 0.2, 1])
    np.testing.assert_allclose(utils.to_unit_range(np.array([0.0, 0.5]), "tanh"), [0.5, 0.75])
    np.testing.assert_allclose(utils.to_unit_range(np.array([0.0, 0.5])), [0.0, 0.5])
    np.testing.assert_allclose(utils.to_unit_range(np.array([-1.01, 1.01])), [0.0, 1.0])  # slack
    np.testing.assert_allclose(utils.to_unit_range(np.array([10.0, 30.0]), (10, 30)), [0.0, 1.0])
    with pytest.raises(ValueError, match="range from -2 to 2"):
        utils.to_unit_range(np.array([-2.0, 2.0]))
    np.testing.assert_allclose(utils.to_unit_range(np.array([np.nan, 1.0])), [0.0, 1.0])


def test_binarisation_static_and_dynamic():
    x = np.array([0.0, 0.49, 0.51, 1.0], dtype=np.float32)
    np.testing.assert_array_equal(utils.binarize(x), [0, 0, 1, 1])
    with pytest.raises(TypeError):
        utils.binarize(np.zeros(3, np.uint8))
    with pytest.raises(TypeError):
        utils.binarize_dynamic(np.zeros(3, np.uint8))
    probs = np.full(100_000, 0.3, dtype=np.float32)
    draws = utils.binarize_dynamic(probs, seed=1)
    assert set(np.unique(draws)) <= {0.0, 1.0}
    assert abs(draws.mean() - 0.3) < 0.01
    assert not np.array_equal(draws, utils.binarize_dynamic(probs, seed=2))
    np.testing.assert_array_equal(draws, utils.binarize_dynamic(probs, seed=1))


def test_make_dataset_batches_shuffles_and_binarises():
    x = np.linspace(0, 1, 10 * 4, dtype=np.float32).reshape(10, 2, 2, 1)
    y = np.arange(10)
    batches = list(utils.make_dataset(x, y, batch_size=4, seed=0))
    assert len(batches) == 2 and batches[0][0].shape == (4, 2, 2, 1)
    seen = np.concatenate([b[1].numpy() for b in batches])
    assert len(set(seen)) == 8 and not np.array_equal(seen, np.arange(8))
    binary = next(iter(utils.make_dataset(x, batch_size=10, dynamic_binarization=True, shuffle=False)))
    assert set(np.unique(binary.numpy())) <= {0.0, 1.0}
    labelled = next(iter(utils.make_dataset(x, y, batch_size=10, dynamic_binarization=True)))
    assert set(np.unique(labelled[0].numpy())) <= {0.0, 1.0}
    kept = list(utils.make_dataset(x, batch_size=4, drop_remainder=False, shuffle=False))
    assert [len(b) for b in kept] == [4, 4, 2]
    with pytest.raises(TypeError):
        utils.make_dataset(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="batch_size"):
        utils.make_dataset(x, batch_size=0)
    with pytest.raises(ValueError, match="labels"):
        utils.make_dataset(x, y[:3])


def test_gz_helper_is_real_gzip(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((1, 28, 28), np.uint8))
    assert gzip.decompress(path.read_bytes())[:4] == bytes([0, 0, 8, 3])


def test_repr_mentions_shapes_and_source(t10k_folder):
    folder, _, _ = t10k_folder
    text = repr(utils.load_mnist(data_dir=folder, verbose=False))
    assert "(8000, 28, 28)" in text and "source" in text


def test_load_from_folder_and_image_data_directly(t10k_folder):
    folder, images, _ = t10k_folder
    loaded = data.load_from_folder(folder)
    assert isinstance(loaded, data.ImageData) and len(loaded.x_train) == 8000
    with pytest.raises(ValueError):
        data.load_from_folder(folder, name="cifar")


# ---------------------------------------------------------------- what a learner's folder may hold
def test_a_browser_decompressed_gz_file_is_read_with_a_note(tmp_path):
    images, labels = fake_digits(9000)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, compress=False)  # unpacked, same name
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    note = "t10k-images-idx3-ubyte.gz is named .gz but is not compressed"
    with pytest.warns(UserWarning, match=note):
        loaded = utils.load_mnist(data_dir=tmp_path, verbose=False)
    np.testing.assert_array_equal(loaded.x_train, images[:8000])


def test_images_without_labels_name_the_missing_file(tmp_path):
    images, _ = fake_digits(20)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    with pytest.raises(data.DataError) as info:
        utils.load_mnist(data_dir=tmp_path, verbose=False)
    message = str(info.value)
    assert "holds train-images-idx3-ubyte.gz but not its labels, train-labels-idx1-ubyte.gz" \
        in message
    assert f"Download train-labels-idx1-ubyte.gz into {tmp_path}" in message


def test_train_files_without_test_files_are_split_and_the_loader_says_how(tmp_path, capsys):
    images, labels = fake_digits(60)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    loaded = utils.load_mnist(data_dir=tmp_path)
    assert len(loaded.x_train) == 50 and len(loaded.x_test) == 10
    np.testing.assert_array_equal(loaded.y_test, labels[50:])
    assert ("no t10k test files: first 50 images used for training, last 10 held out for testing"
            in capsys.readouterr().out)


@pytest.mark.parametrize("bad", [np.array([0, 3, 10], np.uint8), np.array([0, 1, 255], np.uint8),
                                 np.array([0.5, 1, 2]), np.array([-1, 2, 3])])
def test_labels_outside_0_to_9_are_refused(bad):
    expected = r"labels must be the classes 0\.\.9.*download the matching"
    with pytest.raises(data.DataError, match=expected):
        data._validate(np.zeros((3, 28, 28), np.uint8), bad, "my.npz")


def test_labels_outside_0_to_9_in_a_folder_name_the_file(tmp_path):
    images, _ = fake_digits(9000)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.full(9000, 200, np.uint8))
    expected = "t10k-images-idx3-ubyte.gz: labels must be the classes"
    with pytest.raises(data.DataError, match=expected):
        utils.load_mnist(data_dir=tmp_path, verbose=False)


@pytest.mark.parametrize("content, looks", [(b"<!DOCTYPE html><html>Sign in</html>", "a web page"),
                                            (b"\x00garbage bytes", "14 bytes starting with")])
def test_a_garbage_npz_says_what_it_is_and_what_to_do(tmp_path, content, looks):
    (tmp_path / "mnist.npz").write_bytes(content)
    with pytest.raises(data.DataError) as info:
        utils.load_mnist(data_dir=tmp_path, verbose=False)
    message = str(info.value)
    assert "mnist.npz is not an .npz archive" in message and looks in message
    assert "download mnist.npz again" in message
