"""The DCGAN benchmark trains what chapter 03 teaches, and scores every budget it is given."""

import importlib.util

import keras
import numpy as np
import pytest
from nbcommon import REPO_ROOT

from utils.exercises import ch03


@pytest.fixture(scope="module")
def bench():
    path = REPO_ROOT / "benchmarks" / "dcgan_vs_tutorial.py"
    spec = importlib.util.spec_from_file_location("dcgan_vs_tutorial", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_course_config_is_chapter_03s_recipe(bench):
    g, d = bench.CONFIGS["course"]["build"]()
    namespace = {"keras": keras}
    # the exercises' reference answers are the networks chapter 03 trains
    exec(ch03.q2._solution + "\n" + ch03.q3._solution, namespace)
    g03, d03 = namespace["build_generator"](), namespace["build_discriminator"]()
    assert _layer_types(g) == _layer_types(g03) and g.count_params() == g03.count_params()
    assert _layer_types(d) == _layer_types(d03) and d.count_params() == d03.count_params()
    assert bench.CONFIGS["course"]["batch"] == 32 and bench.CONFIGS["course"]["real_label"] == 1.0


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
