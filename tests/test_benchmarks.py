"""The kept benchmarks train what the chapters teach, and score every budget they are given."""

import importlib.util
import inspect

import keras
import numpy as np
import pytest
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


# ------------------------------------------------------------- the shared budget loop
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


def test_families_equal_time_trains_the_dcgan_with_chapter_03s_steps_per_execution():
    families = _load_benchmark("families_equal_time")
    assert inspect.signature(families.train_dcgan).parameters["steps_per_execution"].default == 8
    x = np.random.default_rng(0).uniform(-1, 1, (160, 28, 28, 1)).astype("float32")  # 5 batches of 32
    # a zero budget stops fit() at its first check: after one call of 4 steps (1 if the setting were lost)
    _, steps, _ = families.train_dcgan(x, 0.0, steps_per_execution=4)
    assert steps == 4
    with pytest.raises(SystemExit) as stopped:
        families.main(["--dcgan-spe", "0"])
    assert stopped.value.code == 2
