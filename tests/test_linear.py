import numpy as np
import pytest

from classifier.artifact import load_model
from classifier.models.linear import LinearHead, LinearModel, fit_temperature, softmax
from classifier.router import prepare
from conftest import tiny_config, tiny_frame


def _docs(frame):
    return prepare(frame["title"].tolist(), frame["text"].tolist())[0]


@pytest.fixture(scope="module")
def fitted():
    frame = tiny_frame()
    targets = {h: frame[h].to_numpy(dtype=object) for h in ("department", "screening")}
    return LinearModel(tiny_config()).fit(_docs(frame), targets), frame


def test_overfits_tiny_corpus(fitted):
    model, frame = fitted
    probs = model.predict_proba(_docs(frame))
    for head in ("department", "screening"):
        predicted = np.array(model.labels[head])[probs[head].argmax(axis=1)]
        assert (predicted == frame[head].to_numpy()).mean() == 1.0


def test_probabilities_are_distributions_over_sorted_labels(fitted):
    model, frame = fitted
    probs = model.predict_proba(_docs(frame))
    assert model.labels["department"] == sorted(set(frame["department"]))
    for p in probs.values():
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
        assert (p >= 0).all()


def test_save_load_gives_identical_probabilities(fitted, tmp_path):
    """The model in memory and the one read back from its files score alike (save loses nothing)."""
    model, frame = fitted
    model.save(tmp_path)
    reloaded = LinearModel.load(tmp_path, model.config, model.labels)
    before, after = model.predict_proba(_docs(frame)), reloaded.predict_proba(_docs(frame))
    assert set(before) == set(after) == {"department", "screening"}
    for head in before:
        np.testing.assert_array_equal(before[head], after[head])
    assert reloaded.explain(_docs(frame)[0], "department", "住房和城乡建设局") == model.explain(
        _docs(frame)[0], "department", "住房和城乡建设局")


def test_rows_with_empty_label_are_skipped_for_that_head_only():
    frame = tiny_frame()
    department = frame["department"].to_numpy(dtype=object).copy()
    department[:3] = ""
    model = LinearModel(tiny_config()).fit(_docs(frame), {"department": department, "urgent": frame["urgent"].to_numpy(dtype=object)})
    assert model.labels["department"] == sorted(set(department) - {""})
    assert model.labels["urgent"] == ["否", "是"]


def test_single_label_head_is_an_error():
    frame = tiny_frame()
    with pytest.raises(ValueError, match="at least two labels"):
        LinearModel(tiny_config()).fit(_docs(frame), {"channel": np.array(["x"] * len(frame), dtype=object)})


def test_temperature_softens_overconfident_scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    scores = rng.normal(size=(300, 3)) * 10
    scores[np.arange(300), y] += 5
    assert fit_temperature(scores, y) > 1
    np.testing.assert_allclose(softmax(scores).sum(axis=1), 1.0)


def test_explain_names_terms_from_the_text(fitted):
    model, _ = fitted
    doc = prepare(["物业"], ["小区物业不修电梯"])[0][0]
    terms = model.explain(doc, "department", "住房和城乡建设局")
    assert terms and all(weight > 0 for _, weight in terms)
    assert any("物业" in term or "电梯" in term for term, _ in terms)


def test_binary_head_has_two_columns():
    from scipy import sparse

    X = sparse.csr_matrix(np.eye(6, dtype=np.float32))
    head = LinearHead(calibration_folds=2).fit(X, ["是", "否"] * 3)
    assert head.coef_.shape == (2, 6) and head.classes_ == ["否", "是"]
