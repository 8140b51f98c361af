"""The DCGAN benchmark trains what chapter 03 teaches, and scores every budget it is given."""

import importlib.util
import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf
from nbcommon import REPO_ROOT

from utils.exercises import ch03


def _load_benchmark(name):
    """Import benchmarks/<name>.py as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load_benchmark("dcgan_vs_tutorial")


def _layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_course_config_is_chapter_03s_recipe(bench):
    g, d = bench.CONFIGS["course"]["build"]()
    namespace = {"keras": keras, "LATENT_DIM": 100}  # what the notebook defines before the exercises
    # the exercises' reference answers are the networks chapter 03 trains
    exec(ch03.q2._solution + "\n" + ch03.q3._solution, namespace)
    g03, d03 = namespace["build_generator"](), namespace["build_discriminator"]()
    assert _layer_types(g) == _layer_types(g03) and g.count_params() == g03.count_params()
    assert _layer_types(d) == _layer_types(d03) and d.count_params() == d03.count_params()
    assert bench.CONFIGS["course"]["batch"] == 32 and bench.CONFIGS["course"]["real_label"] == 1.0
    notebook = (REPO_ROOT / "solutions" / "03_dcgan.ipynb").read_text()
    assert f'R1_GAMMA = {bench.CONFIGS["course"]["r1_gamma"]}' in notebook
    assert "r1_gamma=R1_GAMMA" in notebook


def test_train_and_score_scores_each_budget_once_in_order(bench):
    seen = []

    def fake_score(generator):
        seen.append(generator.count_params())
        return {"fid": 1.0, "score": 2.0, "precision": 0.5, "recall": 0.5}

    x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype("float32")
    rows = bench.train_and_score("course", x, [0.2, 0.05], fake_score, seed=0)
    assert [r["budget"] for r in rows] == [0.05, 0.2] and len(seen) == 2
    assert 0 < rows[0]["steps"] <= rows[1]["steps"] and rows[1]["seconds"] >= 0.2
    assert rows[1]["images_seen"] == rows[1]["steps"] * 32


@pytest.fixture(scope="module")
def variants():
    return _load_benchmark("dcgan_variants")


def test_ablation_baseline_is_chapter_03s_recipe(bench, variants):
    g, d = variants.build_networks("plain")
    g_bench, d_bench = bench.CONFIGS["course"]["build"]()
    assert _layer_types(g) == _layer_types(g_bench) and g.count_params() == g_bench.count_params()
    assert _layer_types(d) == _layer_types(d_bench) and d.count_params() == d_bench.count_params()
    assert "BatchNormalization" in _layer_types(variants.build_networks("d_batchnorm")[1])
    assert variants.build_networks("wide")[0].count_params() > 2 * g.count_params()


@pytest.mark.parametrize("variant", ["plain", "r1", "lsgan", "ema", "lr_decay"])
def test_every_variant_trains_and_is_scored_at_each_checkpoint(variants, variant):
    scored = []

    def fake_score(generator):
        scored.append(generator)
        return {"fid": 1.0, "score": 2.0, "precision": 0.5, "recall": 0.5}

    x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype("float32")
    rows = variants.run_variant(variant, x, [4, 2], fake_score, seed=0, batch_size=16)
    assert [r["steps"] for r in rows] == [2, 4] and len(scored) == 2
    assert all(r["variant"] == variant and r["ms_per_step"] > 0 for r in rows)


def test_unknown_variant_is_refused(variants):
    with pytest.raises(ValueError, match="unknown variant"):
        variants.run_variant("dropout", np.zeros((32, 28, 28, 1), "float32"), [1], lambda g: {})


def test_ema_averages_weights_and_copies_batchnorm_statistics(variants):
    from utils import gan

    current, averaged = gan.build_dcgan_generator(8, filters=8), gan.build_dcgan_generator(8, filters=8)
    for w in current.weights:
        if "moving" in w.path:  # make copying and averaging give different statistics
            w.assign(np.full(w.shape, 3.0, "float32"))
    before = [np.asarray(w).copy() for w in averaged.weights]
    variants.update_ema(averaged, current, decay=0.75)
    for old, new, now in zip(before, averaged.weights, current.weights):
        expected = np.asarray(now) if "moving" in now.path else 0.75 * old + 0.25 * np.asarray(now)
        np.testing.assert_allclose(np.asarray(new), expected, rtol=1e-6, atol=1e-7)
    assert any("moving" in w.path for w in current.weights)


# ------------------------------------------------------------- the shared budget loop and the curve
def test_budget_checkpoints_pause_at_each_budget_and_time_only_the_steps():
    budgets = _load_benchmark("_budgets")
    ticks = iter(range(1000))  # a fake clock: every step takes one tick, the caller's work none
    steps_done = []
    seen = []
    for budget, steps, seconds in budgets.budget_checkpoints(steps_done.append, [10, 20, 30], [5, 2, 2.5],
                                                             clock=lambda: next(ticks)):
        seen.append((budget, steps, seconds))
    # 2 s after two steps; 2.5 s after three (passed at once); 5 s after five, batches going round again
    assert seen == [(2, 2, 2.0), (2.5, 3, 3.0), (5, 5, 5.0)]
    assert steps_done == [10, 20, 30, 10, 20]
    with pytest.raises(ValueError, match="empty"):
        list(budgets.budget_checkpoints(steps_done.append, [], [1]))


def test_dcgan_curve_scores_raw_and_averaged_generator_at_each_budget():
    curve = _load_benchmark("dcgan_curve")
    scored = []

    def fake_score(generator):
        scored.append(generator)
        return {"fid": 1.0, "score": 2.0, "precision": 0.5, "recall": 0.5}

    x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype("float32")
    rows = list(curve.train_curve(x, [0.2, 0.05], fake_score, ema=0.9, augment="translation,cutout"))
    assert [r["budget"] for r in rows] == [0.05, 0.2] and len(scored) == 4
    assert scored[0] is not scored[1] and scored[0] is scored[2]  # raw G, then its average, at each budget
    assert set(rows[0]) == {"budget", "steps", "seconds", "images_seen", "raw", "ema"}
    assert rows[1]["images_seen"] == rows[1]["steps"] * 32 and rows[1]["seconds"] >= 0.2
    assert "ema" not in next(curve.train_curve(x, [0.01], fake_score, ema=0.0))


def test_dcgan_curve_changes_one_thing_in_chapter_03s_recipe(monkeypatch):
    curve = _load_benchmark("dcgan_curve")
    built, calls = {}, []
    real_make_step = curve.faces.make_face_train_step

    def spying_make_step(g, d, g_optimizer, d_optimizer, **kwargs):
        built.update(kwargs, g_lr=float(g_optimizer.learning_rate), d_lr=float(d_optimizer.learning_rate))
        step = real_make_step(g, d, g_optimizer, d_optimizer, **kwargs)
        return lambda batch: (calls.append(int(batch.shape[0])), step(batch))[1]

    monkeypatch.setattr(curve.faces, "make_face_train_step", spying_make_step)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype("float32")
    row = next(curve.train_curve(x, [0.05], lambda g: {}, ema=0.0))
    assert built["r1_gamma"] == 1.0 and built["r1_every"] == 1 and built["real_label"] == 1.0
    assert built["g_lr"] == pytest.approx(2e-4) and built["d_lr"] == pytest.approx(2e-4)
    assert len(calls) == row["steps"] + 1  # one call traces the step before the clock starts

    calls.clear()
    changes = dict(batch=16, d_lr=4e-4, g_lr=1e-4, r1_gamma=4.0, r1_every=4)
    row = next(curve.train_curve(x, [0.05], lambda g: {}, ema=0.0, **changes))
    assert built["r1_gamma"] == 4.0 and built["r1_every"] == 4  # the step multiplies gamma by 4 itself
    assert built["g_lr"] == pytest.approx(1e-4) and built["d_lr"] == pytest.approx(4e-4)
    assert set(calls) == {16} and row["images_seen"] == row["steps"] * 16
    assert len(calls) == row["steps"] + 2  # lazy R1: both graphs traced before the clock starts
    with pytest.raises(ValueError, match="unknown recipe changes"):
        next(curve.train_curve(x, [0.05], lambda g: {}, ema=0.0, beta_1=0.9))


@pytest.mark.parametrize("bad", [["--r1-every", "0"], ["--batch", "0"], ["--d-lr", "nan"], ["--r1-gamma", "-1"]])
def test_dcgan_curve_rejects_a_bad_recipe_before_loading_data(bad, capsys):
    curve = _load_benchmark("dcgan_curve")
    with pytest.raises(SystemExit) as stop:
        curve.main(bad)
    assert stop.value.code == 2 and "error" in capsys.readouterr().err


def test_jit_batch_reports_a_failing_setting_and_compares_with_the_chapters_own():
    jit = _load_benchmark("jit_batch")

    def broken(batch):
        raise RuntimeError("XLA cannot compile this\nsecond line")

    def tiny(batch):
        w = tf.Variable(1.0)
        return (lambda x: {"loss": w.assign_add(tf.reduce_mean(x))}), (tf.ones((batch, 2)),)

    jit.CASES["fake"] = ("fake step", "step", tiny, (4, 8), 4, "tanh")
    jit.CASES["bad"] = ("broken step", "step", broken, (4,), 4, "tanh")
    try:
        rows = jit.measure_case("fake", (4, 8), seconds=0.01, windows=2)
        rows += jit.measure_case("bad", (4,), seconds=0.01, windows=1)
        text = jit.table(rows)
    finally:
        del jit.CASES["fake"], jit.CASES["bad"]
    assert [(r["batch"], r["jit"]) for r in rows[:4]] == [(4, False), (4, True), (8, False), (8, True)]
    assert all(r["rate"] > 0 for r in rows[:4])
    assert rows[4]["rate"] is None and rows[4]["note"].startswith("failed: RuntimeError: XLA cannot")
    assert "| fake step | explicit | 4 | False | - |" in text and text.count("| 1.00 |") == 1
    assert "failed: RuntimeError" in text and "\n" not in rows[4]["note"]


# batch32-r1-g2: R1 through spectral norm (chapter 06's recipe); lazy4: two graphs; full16: another G;
# blur: a variable the step reads; aa: fixed layers in D; grow: three phases, compiled before the clock
@pytest.mark.parametrize("recipe", ["chapter06", "batch32-r1-g2", "batch32-r1-lazy4", "batch32-r1-full16",
                                    "batch32-r1-g2-blur", "batch32-r1-g2-aa", "batch32-r1-g2-grow"])
def test_faces_recipes_yields_each_budget_in_order_with_the_chapters_averages(monkeypatch, recipe):
    recipes = _load_benchmark("faces_recipes")
    monkeypatch.setitem(recipes.BASE, "g_filters", 16)  # small networks: the loop is under test
    monkeypatch.setitem(recipes.BASE, "d_filters", 8)
    monkeypatch.setitem(recipes.BASE, "batch", 8)
    faces = np.random.default_rng(0).uniform(-1, 1, (32, 64, 64, 3)).astype("float32")
    rows = [(b, s, [(a.decay, a.warmup) for a in avg])
            for b, s, g, avg in recipes.train(recipe, faces, [0.3, 0.1])]
    assert [b for b, _, _ in rows] == [0.1, 0.3] and 0 < rows[0][1] <= rows[1][1]
    assert rows[0][2] == list(recipes.AVERAGES) and (0.999, 4) in recipes.AVERAGES  # chapter 06's average
    notebook = (REPO_ROOT / "solutions" / "06_faces_project.ipynb").read_text()
    assert "EMA_DECAY, EMA_WARMUP = 0.999, 4" in notebook
    # batch32-r1-g2, judged with refreshed BatchNorm statistics (--refresh-bn), is chapter 06's recipe now:
    # the benchmark and the notebook must not drift apart
    assert recipes.RECIPES["batch32-r1-g2"] == dict(batch=32, r1_gamma=2.0)
    assert recipes.RECIPES["batch32-r1-g2-blur"] == dict(batch=32, r1_gamma=2.0, blur_sigma=2.0, blur_fade=500)
    assert recipes.RECIPES["batch32-r1-g2-grow"] == dict(batch=32, r1_gamma=2.0, grow_low=500, grow_fade=500)
    assert "BATCH = 32\\n" in notebook and "R1_GAMMA = 2.0 " in notebook
    assert "refresh_batchnorm=True" in notebook


def test_faces_recipes_validate_picks_the_mark_with_the_best_validation_score(monkeypatch, capsys, tmp_path):
    recipes = _load_benchmark("faces_recipes")
    from utils.chapters import face_metrics

    monkeypatch.setitem(recipes.BASE, "g_filters", 16)  # small networks: the choice is under test
    monkeypatch.setitem(recipes.BASE, "d_filters", 8)
    monkeypatch.setitem(recipes.BASE, "batch", 8)
    judge = face_metrics.train_face_classifier(n_faces=1500, epochs=3, verbose=False)  # about 10 s
    monkeypatch.setattr(face_metrics, "get_face_classifier", lambda verbose=True: judge)
    recipes.main(["--recipes", "chapter06", "--budget", "0.6", "--score-at", "0.2", "0.4", "--validate",
                  "--averages", "0.999/4", "--samples", "20", "--faces", "32", "--refresh-bn",
                  "--grids", str(tmp_path / "grids")])
    marks, picked = capsys.readouterr().out.split("the mark validation picked")
    assert (tmp_path / "grids" / "chapter06_seed0.png").read_bytes()[:4] == b"\x89PNG"  # the kept G's faces
    picked_rows = [line.replace(" (picked)", "").split() for line in picked.splitlines() if "(picked)" in line]
    assert len(picked_rows) == 3  # the last weights, the average and its copy with refreshed BatchNorm
    for model in ("last", "EMA 0.999/w4", "EMA 0.999/w4 +BN"):
        marked = [line.split("   validation") for line in marks.splitlines()
                  if f" s {model} " in line and "validation" in line and ("+BN" in line) == model.endswith("+BN")]
        assert len(marked) == 3  # one row per mark
        lowest = min(float(score) for _, score in marked)
        best_rows = [row.split() for row, score in marked if float(score) == lowest]
        assert any(row in picked_rows for row in best_rows), (model, marked, picked_rows)
    with pytest.raises(SystemExit):
        recipes.main(["--averages", "0.999"])
    with pytest.raises(SystemExit):  # a grid of the kept generator needs the rule that keeps it
        recipes.main(["--grids", str(tmp_path)])


def test_steps_per_execution_benchmark_trains_chapter_03s_model_for_its_budget():
    spe = _load_benchmark("dcgan_steps_per_execution")
    x = np.random.default_rng(0).uniform(-1, 1, (96, 28, 28, 1)).astype("float32")
    model, steps, seconds = spe.train_with_fit(x, 0.5, 4, seed=3)
    assert model.steps_per_execution == 4 and model.r1_gamma == 1.0 and model.real_label == 1.0
    assert model.generator.name == "dcgan_generator" and seconds >= 0.5  # TimeBudget stopped it
    assert steps >= 1 and steps == int(model.g_optimizer.iterations)  # one D and one G update per step
    assert steps % 3 == 0  # 96 images at batch 32: whole epochs of 3 steps, one execution each (fit stops between)
    for optimizer in (model.d_optimizer, model.g_optimizer):  # chapter 03's Adam
        assert float(optimizer.learning_rate) == pytest.approx(2e-4) and float(optimizer.beta_1) == 0.5
    for bad in (["--spe", "0"], ["--budget", "nan"], ["--budget", "0"], ["--seeds", "-1"]):
        with pytest.raises(SystemExit) as stopped:
            spe.main(bad)
        assert stopped.value.code == 2, bad


def test_families_equal_time_trains_the_dcgan_with_chapter_03s_steps_per_execution():
    families = _load_benchmark("families_equal_time")
    assert inspect.signature(families.train_dcgan).parameters["steps_per_execution"].default == 8
    x = np.random.default_rng(0).uniform(-1, 1, (320, 28, 28, 1)).astype("float32")  # 10 batches of 32
    for steps_per_execution in (1, 4):  # a zero budget stops fit() at its first check: after one call
        _, steps, _ = families.train_dcgan(x, 0.0, steps_per_execution=steps_per_execution)
        assert steps == steps_per_execution
    with pytest.raises(SystemExit) as stopped:
        families.main(["--dcgan-spe", "0"])
    assert stopped.value.code == 2
