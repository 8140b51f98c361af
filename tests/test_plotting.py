import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import utils  # noqa: E402


def test_image_grid_tiles_both_ranges_and_channels():
    tanh = -np.ones((5, 4, 3), dtype=np.float32)
    grid = utils.image_grid(tanh, ncols=3, pad=1)
    assert grid.shape == (2 * 4 + 1, 3 * 3 + 2, 1)
    assert grid[:4, :3].max() == 0.0  # -1 maps to black
    assert grid[5:, 7:].min() == 1.0  # unused cells stay white
    rgb = np.random.default_rng(0).random((4, 8, 8, 3)).astype(np.float32)
    out = utils.image_grid(rgb, pad=0)
    assert out.shape == (16, 16, 3)
    np.testing.assert_allclose(out[:8, :8], rgb[0])


@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.zeros((2, 4, 4, 2)), np.zeros((0, 4, 4))])
def test_image_grid_rejects_bad_shapes(bad):
    with pytest.raises(ValueError):
        utils.image_grid(bad)


def test_show_images_has_title():
    ax = utils.show_images(np.zeros((4, 28, 28, 1)), title="Four digits")
    assert ax.get_title() == "Four digits"
    plt.close("all")


def test_plot_history_accepts_dict_and_keras_history_and_rejects_bad_input():
    class FakeHistory:
        history = {"loss": [3, 2, 1], "val_loss": [3, 3, 2]}

    ax = utils.plot_history(FakeHistory(), title="Loss")
    assert ax.get_title() == "Loss" and len(ax.get_lines()) == 2
    ax = utils.plot_history({"d": [1, 2], "g": [2, 1]}, keys=["g"])
    assert len(ax.get_lines()) == 1
    with pytest.raises(ValueError):
        utils.plot_history({})
    with pytest.raises(KeyError, match="available"):
        utils.plot_history({"d": [1]}, keys=["g"])
    plt.close("all")


def test_live_display_headless_prints_rate_limited(capsys):
    live = utils.LiveTrainingDisplay("GAN", min_interval=3600, notebook=False)
    live.update(1, {"d_loss": 0.7, "g_loss": 1.2})
    live.update(2, {"d_loss": 0.6, "g_loss": 1.1})
    live.update(3, {"d_loss": 0.5, "g_loss": 1.0}, force=True)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and "step 3" in out[-1] and "g_loss=1" in out[-1]
    assert live.history["d_loss"] == [0.7, 0.6, 0.5] and live.updates == 2


def test_live_display_notebook_mode_updates_one_figure(monkeypatch):
    shown = []

    class Handle:
        def update(self, fig):
            shown.append(("update", fig))

    def fake_display(fig, display_id=False):
        shown.append(("display", fig))
        return Handle()

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", fake_display)
    live = utils.LiveTrainingDisplay("VAE", min_interval=0, notebook=True)
    live.update(1, {"loss": 1.0}, images=np.zeros((4, 8, 8)))
    live.update(2, {"loss": 0.5})
    assert [kind for kind, _ in shown] == ["display", "update"]


def test_uint8_digits_from_the_loader_are_shown_as_0_to_255():
    digits = np.array([[[0, 128, 255]]], dtype=np.uint8)  # what utils.load_mnist returns
    grid = utils.image_grid(digits, pad=0)
    np.testing.assert_allclose(grid[0, :, 0], [0.0, 128 / 255, 1.0], rtol=1e-6)
    ax = utils.show_images(digits, title="raw digits")
    np.testing.assert_allclose(ax.get_images()[0].get_array()[0], [0.0, 128 / 255, 1.0], rtol=1e-6)
    plt.close("all")


@pytest.mark.parametrize("low, high", [(-0.65, 1.63), (0.0, 255.0), (-3.0, 0.5)])
def test_floats_outside_both_ranges_raise_and_name_the_range_seen(low, high):
    images = np.linspace(low, high, 2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    with pytest.raises(ValueError, match=f"range from {low:.4g} to {high:.4g}"):
        utils.show_images(images, title="out of range")
    plt.close("all")


def test_a_tanh_batch_that_is_all_positive_is_not_read_as_unit():
    tanh_batch = np.full((1, 2, 2), 0.0, dtype=np.float32)  # tanh output 0 = mid-grey
    assert utils.image_grid(tanh_batch, value_range="tanh").max() == 0.5
    assert utils.image_grid(tanh_batch).max() == 0.0  # without the argument it is ambiguous: [0, 1]
    explicit = utils.image_grid(np.array([[[0.0, 2.0]]]), value_range=(0.0, 1.0), pad=0)
    np.testing.assert_allclose(explicit[0, :, 0], [0.0, 1.0])  # an explicit range clips
    with pytest.raises(ValueError, match="value_range must be"):
        utils.image_grid(tanh_batch, value_range="sigmoid")


def test_nan_images_warn_and_are_drawn_not_blank():
    images = np.zeros((3, 4, 4), dtype=np.float32)
    images[1, 0, 0] = np.nan
    images[2] = np.inf
    expected = "2 of 3 images contain NaN or inf .17 pixels.*diverged"
    with pytest.warns(RuntimeWarning, match=expected):
        ax = utils.show_images(images, title="diverged")
    shown = np.ma.getdata(ax.get_images()[0].get_array())
    assert np.isfinite(shown).all()
    plt.close("all")


def test_plot_history_takes_one_key_as_a_string():
    ax = utils.plot_history({"loss": [3, 2, 1], "val_loss": [3, 3, 2]}, keys="loss")
    assert [line.get_label() for line in ax.get_lines()] == ["loss"]
    plt.close("all")
