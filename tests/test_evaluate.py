import json

import numpy as np
import pandas as pd
import pytest

import classifier.evaluate as evaluation
from classifier.evaluate import calibration, evaluate, write_report
from classifier.router import route_rows
from conftest import tiny_frame


def test_calibration_error_over_equal_width_bins():
    result = calibration(np.array([0.95, 0.95, 0.15, 0.15, 1.0]), np.array([True, False, False, False, True]))
    # bin 0.9-1.0: confidence (0.95 + 0.95 + 1.0) / 3, accuracy 2/3; bin 0.1-0.2: confidence 0.15, accuracy 0
    expected = 3 / 5 * abs(2 / 3 - 2.9 / 3) + 2 / 5 * 0.15
    assert result["ece"] == pytest.approx(expected, abs=1e-4)
    assert [(b["low"], b["n"]) for b in result["reliability"]] == [(0.1, 2), (0.9, 3)]
    assert calibration(np.zeros(0), np.zeros(0, dtype=bool)) == {"ece": None, "reliability": []}


def test_perfect_confidence_has_no_calibration_error():
    assert calibration(np.ones(4), np.ones(4, dtype=bool))["ece"] == 0.0


@pytest.fixture(scope="module")
def frame():
    extra = pd.DataFrame([
        {"id": "G1", "channel": "test", "title": "", "text": "asdfgh qwerty", "time": "", "screening": "无效", "department": "无", "topic": "", "urgent": "否"},
        {"id": "G2", "channel": "test", "title": "", "text": "   ", "time": "", "screening": "政务服务", "department": "教育局", "topic": "", "urgent": "否"},
    ])  # fmt: skip
    return pd.concat([tiny_frame(), extra], ignore_index=True)


def test_evaluate_reports_calibration_and_review_coverage(tiny_model, frame, monkeypatch):
    result = evaluate(tiny_model, frame)
    for head, metrics in result["heads"].items():
        assert 0.0 <= metrics["ece"] <= 1.0, head
        assert sum(b["n"] for b in metrics["reliability"]) == metrics["n"]
    review = result["review"]
    assert review["n"] == len(frame) and len(review["curve"]) == len(evaluation.REVIEW_GRID)
    shares = [p["auto_routed"] for p in review["curve"]]
    assert shares == sorted(shares, reverse=True) and shares[0] == pytest.approx((len(frame) - 1) / len(frame), abs=1e-4)  # the empty row
    # the grid point at the model's own department threshold is the needs_review point; the thresholds are put
    # between the rounded confidences the output shows, so that rounding cannot decide a row
    screening = np.unique(route_rows(tiny_model, frame["title"], frame["text"])["screening_confidence"][:-1].astype(float))
    gap = np.argmax(np.diff(screening))
    thresholds = {"screening": float(screening[gap : gap + 2].mean()), "department": 0.5}
    monkeypatch.setitem(tiny_model.metadata, "thresholds", thresholds)
    monkeypatch.setattr(evaluation, "REVIEW_GRID", (0.5,))
    again = evaluate(tiny_model, frame)["review"]
    point = {k: again["curve"][0][k] for k in ("auto_routed", "precision", "n_auto")}
    assert point == {k: again["model"][k] for k in ("auto_routed", "precision", "n_auto")}
    assert 0 < point["n_auto"] < len(frame) - 1
    json.dumps(result)


def test_report_has_calibration_table_and_plots(tiny_model, frame, tmp_path):
    path = write_report(evaluate(tiny_model, frame), tmp_path / "r")
    report = path.read_text(encoding="utf-8")
    assert "ECE" in report and "needs_review" in report and "| department |" in report
    for name in ("reliability.png", "review_coverage.png"):
        assert (tmp_path / "r" / name).stat().st_size > 1000
    assert "review" in json.loads((tmp_path / "r" / "metrics.json").read_text(encoding="utf-8"))


def test_missing_label_columns_names_the_files_own_columns(tiny_model_dir, tmp_path, monkeypatch):
    """The message lists the columns as the file has them, not the renamed ones, and the label columns looked for."""
    from typer.testing import CliRunner

    from classifier.cli import app

    path = tmp_path / "tickets.csv"
    pd.DataFrame({"工单编号": ["T1"], "来电内容": ["小区电梯坏了一个月没人修"], "标题": ["电梯故障"]}).to_csv(path, index=False)
    args = ["evaluate", "--data", str(path), "--model", str(tiny_model_dir)]
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "'工单编号', '来电内容', '标题'" in result.output and "'channel'" not in result.output
    assert "tickets.csv" in result.output and all(h in result.output for h in ("screening", "department", "topic"))
    result = CliRunner().invoke(app, ["--lang", "en", *args])
    assert result.exit_code == 2 and "'channel'" not in result.output
    assert "tickets.csv has none of the model's label columns" in result.output and "'来电内容'" in result.output


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_shows_per_label_thresholds_as_a_table(tiny_model, frame, tmp_path, monkeypatch, lang):
    """The model's own review point names each head's default threshold; per-label thresholds get a small table
    (the catch-all key '' named as the default), never a raw dict; the Chinese report says 标签列, not 头."""
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", lang)
    result = evaluate(tiny_model, frame)
    result["review"]["model"]["thresholds"] = {"screening": 0.5, "department": {"": 0.6705, "教育局": 0.9963, "公安局": 1.0}}
    report = write_report(result, tmp_path / "r").read_text(encoding="utf-8")
    review = report[report.index("needs_review"):]
    assert "{" not in review and "''" not in review
    if lang == "zh":
        assert "| 模型自身：screening 0.5，department 默认 0.6705（按标签见下表） |" in review
        assert "| department | 其他标签（默认） | 0.6705 |" in review and "| department | 教育局 | 0.9963 |" in review
        assert "头" not in report and "| 标签列 | 行数 | ECE |" in report
    else:
        assert "| model's own: screening 0.5, department default 0.6705 (per label: see the table below) |" in review
        assert "| department | other labels (default) | 0.6705 |" in review and "| department | 公安局 | 1.0000 |" in review
    assert "| screening |" not in review  # one number for all its labels: no per-label rows
