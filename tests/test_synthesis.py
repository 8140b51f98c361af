"""Tests for utils.chapters.synthesis: rule-based image synthesis of chapter 01 and the cartoon-face dataset."""

import math
import time

import numpy as np
import pytest

from utils.chapters import synthesis as syn


@pytest.fixture
def image():
    return np.random.default_rng(0).random((21, 21, 3))


# ---------------------------------------------------------------- geometric transforms
def test_affine_matrix_identity_and_shape():
    m = syn.affine_matrix()
    assert m.shape == (2, 3)
    np.testing.assert_allclose(m, [[1, 0, 0], [0, 1, 0]])


def test_affine_matrix_is_the_inverse_map():
    # the content moves by +translate, so output pixel p reads input pixel p - translate
    m = syn.affine_matrix(translate=(3, -2))
    np.testing.assert_allclose(m @ [5.0, 5.0, 1.0], [2.0, 7.0])
    # scaling by 2 makes output pixel at distance 4 read input at distance 2 from the centre
    np.testing.assert_allclose(syn.affine_matrix(scale=2) @ [4.0, 0.0, 1.0], [2.0, 0.0])


@pytest.mark.parametrize("bad", [dict(scale=0), dict(shear_deg=90), dict(translate=(1,)), dict(scale=(1, 0))])
def test_affine_matrix_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        syn.affine_matrix(**bad)


def test_identity_warp_returns_image(image):
    np.testing.assert_allclose(syn.affine_warp(image), image)
    np.testing.assert_allclose(syn.affine_warp(image[..., 0]), image[..., 0])


def test_rotating_90_twice_equals_rotating_180(image):
    twice = syn.affine_warp(syn.affine_warp(image, angle_deg=90), angle_deg=90)
    np.testing.assert_allclose(twice, syn.affine_warp(image, angle_deg=180), atol=1e-9)
    np.testing.assert_allclose(twice, image[::-1, ::-1], atol=1e-9)


def test_positive_angle_turns_counter_clockwise(image):
    # np.rot90 turns an array counter-clockwise as it is displayed
    np.testing.assert_allclose(syn.affine_warp(image, angle_deg=90), np.rot90(image), atol=1e-9)


def test_translate_moves_content_and_fills_outside():
    img = np.zeros((10, 12))
    img[6, 5] = 1.0
    out = syn.affine_warp(img, translate=(3, 2), fill=-1.0)
    assert out[8, 8] == pytest.approx(1.0)
    assert out[6, 5] == 0.0
    assert (out[:2] == -1).all() and (out[:, :3] == -1).all()  # came from outside the input


def test_shear_moves_lower_rows_right():
    img = np.zeros((15, 15))
    img[:, 7] = 1.0
    out = syn.affine_warp(img, shear_deg=45)
    for row in (3, 7, 11):
        assert out[row].argmax() == 7 + (row - 7)


def test_scale_half_shrinks_the_area():
    out = syn.affine_warp(np.ones((40, 40)), scale=0.5)
    assert 0.2 < out.mean() < 0.3


def test_warp_with_matrix_equals_keywords(image):
    m = syn.affine_matrix(angle_deg=30, scale=1.2, shear_deg=10, translate=(2, 1))
    kw = syn.affine_warp(image, angle_deg=30, scale=1.2, shear_deg=10, translate=(2, 1))
    np.testing.assert_allclose(syn.affine_warp(image, m), kw)
    np.testing.assert_allclose(syn.affine_warp(image, np.vstack([m, [0, 0, 1]])), kw)


def test_warp_bilinear_interpolates_between_pixels():
    img = np.array([[0.0, 1.0, 2.0, 3.0]] * 3)
    out = syn.affine_warp(img, translate=(0.5, 0))
    np.testing.assert_allclose(out[1, 1:], [0.5, 1.5, 2.5])


def test_warp_dtypes():
    assert syn.affine_warp(np.ones((4, 4), np.float32), angle_deg=10).dtype == np.float32
    out = syn.affine_warp(np.full((4, 4), 200, np.uint8))
    assert out.dtype == np.float64 and out.max() == 200


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 2, 2, 2)), np.zeros((0, 3))])
def test_warp_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="shape"):
        syn.affine_warp(bad)


def test_warp_rejects_bad_matrix_and_mixed_arguments(image):
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        syn.affine_warp(image, np.eye(2))
    with pytest.raises(ValueError, match="not both"):
        syn.affine_warp(image, syn.affine_matrix(), angle_deg=10)
    with pytest.raises(TypeError):
        syn.affine_warp("picture")
    with pytest.raises(TypeError, match="real numbers"):
        syn.affine_warp(np.zeros((3, 3), complex))


# ---------------------------------------------------------------- masks and compositing
def test_circle_mask_range_and_area():
    m = syn.circle_mask((64, 64), center=(31.5, 30), radius=12)
    assert m.shape == (64, 64)
    assert m.min() >= 0 and m.max() <= 1
    assert m.sum() == pytest.approx(math.pi * 12**2, rel=0.01)
    assert m[30, 31] == 1 and m[0, 0] == 0
    edge = m[(m > 0) & (m < 1)]
    assert edge.size > 0  # anti-aliased edge


def test_hard_mask_is_binary():
    m = syn.circle_mask(32, (16, 16), 8, softness=0)
    assert set(np.unique(m)) == {0.0, 1.0}


def test_rect_mask_area_and_position():
    m = syn.rect_mask((40, 50), top_left=(10, 5), bottom_right=(30, 15))
    assert m.sum() == pytest.approx(20 * 10, rel=0.02)
    assert m[10, 20] == 1 and m[10, 35] == 0 and m[20, 20] == 0
    assert 0 <= m.min() and m.max() <= 1


def test_ellipse_mask_area_and_rotation():
    m = syn.ellipse_mask((64, 64), (32, 32), radii=(20, 8))
    assert m.sum() == pytest.approx(math.pi * 20 * 8, rel=0.01)
    assert m[32, 50] == 1 and m[45, 32] == 0  # wide, not tall
    turned = syn.ellipse_mask((64, 64), (32, 32), radii=(20, 8), angle_deg=90)
    np.testing.assert_allclose(turned, syn.ellipse_mask((64, 64), (32, 32), radii=(8, 20)), atol=1e-4)
    assert turned.min() >= 0 and turned.max() <= 1


@pytest.mark.parametrize(
    "call",
    [
        lambda: syn.circle_mask((10,), (1, 1), 2),
        lambda: syn.circle_mask((10, -1), (1, 1), 2),
        lambda: syn.circle_mask((10, 10), (1, 1), 0),
        lambda: syn.circle_mask((10, 10), (1, 1), 2, softness=-1),
        lambda: syn.circle_mask((10, 10), 5, 2),
        lambda: syn.rect_mask((10, 10), (5, 5), (2, 8)),
        lambda: syn.ellipse_mask((10, 10), (5, 5), (3, 0)),
    ],
)
def test_masks_reject_bad_arguments(call):
    with pytest.raises(ValueError):
        call()


def test_composite():
    fg, bg = np.ones((8, 8, 3)), np.zeros((8, 8, 3))
    np.testing.assert_allclose(syn.composite(fg, bg, np.ones((8, 8))), fg)
    np.testing.assert_allclose(syn.composite(fg, bg, np.zeros((8, 8, 1))), bg)
    np.testing.assert_allclose(syn.composite(fg, bg, np.full((8, 8, 3), 0.25)), 0.25)
    gray = syn.composite(np.ones((8, 8)), np.zeros((8, 8)), syn.circle_mask(8, (3.5, 3.5), 3))
    assert gray.shape == (8, 8)


def test_composite_validates_shapes_and_range():
    fg = np.ones((8, 8, 3))
    with pytest.raises(ValueError, match="same shape"):
        syn.composite(fg, np.zeros((8, 9, 3)), np.ones((8, 8)))
    with pytest.raises(ValueError, match="mask shape"):
        syn.composite(fg, fg, np.ones((4, 4)))
    with pytest.raises(ValueError, match="mask shape"):
        syn.composite(fg, fg, np.ones((8, 8, 2)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        syn.composite(fg, fg, np.full((8, 8), 2.0))


# ---------------------------------------------------------------- textures
def test_texture_map_hits_texel_centres_and_wraps():
    tex = np.random.default_rng(1).random((4, 6, 3))
    v, u = np.meshgrid((np.arange(4) + 0.5) / 4, (np.arange(6) + 0.5) / 6, indexing="ij")
    np.testing.assert_allclose(syn.texture_map(tex, u, v), tex)
    np.testing.assert_allclose(syn.texture_map(tex, u + 1, v - 2), tex)  # tiles
    mid = syn.texture_map(tex[..., 0], 1 / 6, 0.5 / 4)  # halfway between texels 0 and 1
    assert mid == pytest.approx((tex[0, 0, 0] + tex[0, 1, 0]) / 2)
    with pytest.raises(ValueError):
        syn.texture_map(np.zeros(3), 0.5, 0.5)


def test_sphere_uv_and_texture_on_a_ball():
    u, v, mask = syn.sphere_uv(32)
    assert u.shape == v.shape == mask.shape == (32, 32)
    assert 0 <= mask.min() and mask.max() <= 1 and mask[16, 16] == 1 and mask[0, 0] == 0
    inside = mask > 0.99
    assert 0.25 <= u[inside].min() and u[inside].max() <= 0.75
    assert v[1:4, 14:18].mean() < 0.2 and v[-4:-1, 14:18].mean() > 0.8  # poles at top and bottom
    ball = syn.texture_map(syn.checkerboard(16, 4), u, v) * syn.sphere_shading(32)
    assert ball.shape == (32, 32) and 0 <= ball.min() and ball.max() <= 1
    shade = syn.sphere_shading(32, light=(-1, -1, 1))
    assert shade[8, 8] > shade[24, 24]  # lit from the top left
    with pytest.raises(ValueError):
        syn.sphere_uv(1)


def _contains_window(sample, block):
    h, w = block.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(sample, (h, w), axis=(0, 1))
    windows = np.moveaxis(windows, (-2, -1), (2, 3))
    return np.isclose(windows, block).all(axis=tuple(range(2, windows.ndim))).any()


def test_synthesized_texture_is_made_of_sample_patches():
    sample = np.random.default_rng(2).random((32, 32, 3))
    out = syn.synthesize_texture(sample, (64, 48), patch=10, overlap=3, seed=1)
    assert out.shape == (64, 48, 3)
    step, inner = 7, 4  # patch - overlap; untouched interior: patch - 2 * overlap
    for y in range(3, 64 - inner, step):
        for x in range(3, 48 - inner, step):
            assert _contains_window(sample, out[y:y + inner, x:x + inner])


def test_texture_synthesis_without_overlap_tiles_exact_windows():
    sample = np.random.default_rng(3).random((20, 20))
    out = syn.synthesize_texture(sample, (24, 24), patch=8, overlap=0)
    assert out.shape == (24, 24)
    for y in range(0, 24, 8):
        for x in range(0, 24, 8):
            assert _contains_window(sample, out[y:y + 8, x:x + 8])


def test_texture_synthesis_is_seeded_and_fast():
    sample = syn.stripes(32, 6, 30)[..., None] * np.array([1.0, 0.5, 0.2])
    start = time.perf_counter()
    a = syn.synthesize_texture(sample, (64, 64), seed=5)
    assert time.perf_counter() - start < 1.0
    np.testing.assert_array_equal(a, syn.synthesize_texture(sample, (64, 64), seed=5))
    assert 0 <= a.min() and a.max() <= 1


def test_quilting_continues_a_periodic_texture_seamlessly():
    # stripes match perfectly in every overlap, so quilting must reproduce stripes of the same period
    out = syn.synthesize_texture(syn.stripes(24, 6), (40, 40), patch=8, overlap=3, tolerance=0.0)
    np.testing.assert_allclose(out[:, 6:], out[:, :-6], atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(patch=40), ValueError),
        (dict(patch=8, overlap=8), ValueError),
        (dict(patch=8.0), TypeError),
        (dict(tolerance=-1), ValueError),
    ],
)
def test_texture_synthesis_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        syn.synthesize_texture(np.zeros((32, 32)), (16, 16), **kwargs)


def test_checkerboard_and_stripes():
    board = syn.checkerboard(16, 4)
    assert board.shape == (16, 16) and set(np.unique(board)) == {0.0, 1.0}
    assert board.mean() == 0.5 and board[0, 0] != board[0, 4] and board[0, 0] == board[4, 4]
    assert syn.checkerboard((8, 12), 2).shape == (8, 12)
    vertical = syn.stripes(32, 8, 0)
    assert 0 <= vertical.min() and vertical.max() <= 1
    np.testing.assert_allclose(vertical, vertical[:1].repeat(32, 0))  # constant down each column
    np.testing.assert_allclose(vertical[:, :-8], vertical[:, 8:], atol=1e-6)  # period 8
    horizontal = syn.stripes(32, 8, 90)
    np.testing.assert_allclose(horizontal, horizontal[:, :1].repeat(32, 1), atol=1e-6)
    with pytest.raises(ValueError):
        syn.checkerboard(16, 0)
    with pytest.raises(ValueError):
        syn.stripes(16, 0)


# ---------------------------------------------------------------- cartoon faces
def test_faces_shape_range_and_determinism():
    faces = syn.cartoon_faces(6, size=32, seed=7)
    assert faces.shape == (6, 32, 32, 3) and faces.dtype == np.float32
    assert faces.min() >= 0 and faces.max() <= 1
    np.testing.assert_array_equal(faces, syn.cartoon_faces(6, size=32, seed=7))
    assert not np.allclose(faces, syn.cartoon_faces(6, size=32, seed=8))
    # face i depends only on the seed, not on how many faces are asked for
    np.testing.assert_array_equal(faces[:3], syn.cartoon_faces(3, size=32, seed=7))
    assert np.abs(faces[0] - faces[1]).mean() > 0.02  # faces differ from each other


def test_zero_faces():
    faces, attrs = syn.cartoon_faces(0, size=24, return_attributes=True)
    assert faces.shape == (0, 24, 24, 3) and attrs == []


def test_face_attributes_vary():
    faces, attrs = syn.cartoon_faces(200, size=16, seed=0, return_attributes=True)
    assert len(attrs) == len(faces) == 200
    assert {a["hair_style"] for a in attrs} == set(syn.HAIR_STYLES)
    assert {a["mouth"] for a in attrs} == set(syn.MOUTHS)
    assert {a["glasses"] for a in attrs} == {True, False}
    assert len({tuple(np.round(a["skin_color"], 1)) for a in attrs}) >= 4
    assert len({a["background_color"] for a in attrs}) > 150
    widths = [a["face_width"] for a in attrs]
    assert max(widths) - min(widths) > 0.05
    tilts = [a["brow_tilt_deg"] for a in attrs]
    assert min(tilts) < -10 and max(tilts) > 10


def test_faces_look_like_faces():
    # the face is drawn in skin colour at the centre; the eyes (white sclera) sit above the centre
    faces, attrs = syn.cartoon_faces(30, size=64, seed=3, return_attributes=True)
    for face, a in zip(faces, attrs):
        cx, cy = a["center_x"] * 64, 32
        cheek = face[int(cy + 0.3 * a["face_height"] * 64), int(cx - 0.75 * a["face_width"] * 64)]
        if not (a["blush"] or a["glasses"]):
            np.testing.assert_allclose(cheek, a["skin_color"], atol=0.05)
        eye_y = int(round(cy - a["eye_height"] * a["face_height"] * 64))
        eye_row = face[eye_y - 2:eye_y + 3, int(cx - 0.6 * a["face_width"] * 64):int(cx)]
        assert eye_row.max() > 0.9  # white of the eye or a highlight


@pytest.mark.parametrize("kwargs, error", [
    (dict(n=-1), ValueError), (dict(n=2.5), TypeError), (dict(n=True), TypeError),
    (dict(n=2, size=12), ValueError), (dict(n=2, size=32.0), TypeError),
])
def test_faces_reject_bad_arguments(kwargs, error):
    with pytest.raises(error):
        syn.cartoon_faces(**kwargs)
