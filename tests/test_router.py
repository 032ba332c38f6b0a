import numpy as np
import pandas as pd
import pytest

from classifier.router import (
    check_text, choose_threshold, decide, is_garbage, keyword_boost, output_columns, review_values, route_rows,
    threshold_of,
)  # fmt: skip

LABELS = {
    "screening": ["信访事项", "政务服务", "无效", "纪检监察"],
    "department": ["住房和城乡建设局", "信访局", "教育局", "无", "纪委监委"],
}


def _decide(screening, department, docs=None, thresholds=None):
    probs = {"screening": np.array(screening, dtype=float), "department": np.array(department, dtype=float)}
    docs = docs or ["一条正常的留言"] * len(screening)
    return pd.DataFrame(decide(probs, LABELS, docs, thresholds=thresholds or {}, rules={}))


def test_misconduct_goes_to_discipline_commission():
    out = _decide([[0.0, 0.3, 0.0, 0.7]], [[0.5, 0.0, 0.3, 0.0, 0.2]])
    assert out.at[0, "screening"] == "纪检监察" and out.at[0, "department"] == "纪委监委"


def test_invalid_gets_no_department():
    out = _decide([[0.0, 0.1, 0.9, 0.0]], [[0.2, 0.0, 0.1, 0.7, 0.0]])
    assert out.at[0, "screening"] == "无效" and out.at[0, "department"] == "" and out.at[0, "department_top3"] == ""


def test_service_request_never_routed_to_linked_or_petition_office():
    out = _decide([[0.1, 0.9, 0.0, 0.0]], [[0.2, 0.3, 0.1, 0.0, 0.4]])
    assert out.at[0, "screening"] == "政务服务"
    assert out.at[0, "department"] == "住房和城乡建设局" and abs(out.at[0, "department_confidence"] - 2 / 3) < 1e-3
    top3 = [cell.split(":")[0] for cell in out.at[0, "department_top3"].split("|")]
    assert top3 == ["住房和城乡建设局", "纪委监委", "信访局"]  # alternatives may name reserved departments


def test_petition_may_go_to_petition_office():
    out = _decide([[0.9, 0.1, 0.0, 0.0]], [[0.2, 0.6, 0.2, 0.0, 0.0]])
    assert out.at[0, "department"] == "信访局"


def test_garbage_is_screened_invalid_by_rule():
    out = _decide([[0.0, 1.0, 0.0, 0.0]], [[1.0, 0, 0, 0, 0]], docs=["asdfgh qwer"])
    assert out.at[0, "screening"] == "无效"
    assert is_garbage("哈哈哈哈哈哈哈") and not is_garbage("路灯不亮了")


def test_needs_review_below_threshold():
    out = _decide([[0.0, 1.0, 0.0, 0.0]] * 2, [[0.5, 0, 0.5, 0, 0], [0.95, 0, 0.05, 0, 0]], thresholds={"department": 0.8})
    assert out["needs_review"].tolist() == [True, False]


def test_choose_threshold_reaches_target_precision():
    confidence = np.linspace(1, 0, 100)
    correct = confidence > 0.3
    t = choose_threshold(confidence, correct, 0.9, min_rows=5)
    kept = confidence >= t
    assert correct[kept].mean() >= 0.9 and 0 < t < 0.5
    assert choose_threshold(confidence, np.ones(100, bool), 0.9) == 0.0
    assert choose_threshold(confidence, np.zeros(100, bool), 0.9) == 1.0


def test_keyword_boost_moves_probability_to_matching_department():
    boosted = keyword_boost(np.array([[0.5, 0.5]]), np.array([[0.0, 2.0]]), 1.0)
    assert boosted[0, 1] > 0.8 and abs(boosted.sum() - 1) < 1e-9


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty text"), ("   \t\n", "empty text"), (None, "missing text"), ("12345 !!!", "no text"), (3.5, "missing text"),
])  # fmt: skip
def test_unusable_text_reasons(text, reason):
    assert reason in check_text("", text)


def test_route_rows_keeps_order_and_marks_errors(tiny_model):
    out = route_rows(tiny_model, ["", "", ""], ["公司拖欠工资三个月", "   ", "学校乱收费"])
    assert list(out.columns) == output_columns(tiny_model.labels)
    assert out["route_status"].tolist() == ["ok", "error: empty text", "ok"]
    assert out.at[0, "department"] == "人力资源和社会保障局" and out.at[2, "department"] == "教育局"
    assert out.at[1, "department"] == "" and out["model_version"].nunique() == 1


def test_rule_made_invalid_is_reviewed_and_repetition_needs_one_character():
    out = _decide([[0.0, 1.0, 0.0, 0.0]] * 2, [[1.0, 0, 0, 0, 0]] * 2, docs=["street light broken", "救命救命救命救命"])
    assert out["screening"].tolist() == ["无效", "政务服务"] and out["needs_review"].tolist() == [True, False]
    assert out.at[0, "department_confidence"] == "" and out.at[0, "department"] == ""


def test_error_rows_need_review(tiny_model):
    out = route_rows(tiny_model, [""], [""])
    assert out.at[0, "needs_review"] is True and out.at[0, "route_status"] == "error: empty text"


def test_invalid_rows_confidence_for_thresholds():
    out = _decide([[0.0, 0.1, 0.9, 0.0], [0.0, 1.0, 0.0, 0.0]], [[0.2, 0.0, 0.1, 0.7, 0.0], [0.9, 0.0, 0.1, 0.0, 0.0]])
    assert review_values(out, "department")[1].tolist() == [0.9, 0.9]


def test_review_thresholds_per_predicted_label():
    # both rows are confident at 0.7; only the label whose threshold is above that is sent to review
    out = _decide([[0.0, 0.7, 0.0, 0.3], [0.0, 0.3, 0.0, 0.7]], [[0.7, 0.0, 0.3, 0.0, 0.0]] * 2,
                  thresholds={"screening": {"": 0.5, "纪检监察": 0.8}})  # fmt: skip
    assert out["screening"].tolist() == ["政务服务", "纪检监察"]
    assert out["needs_review"].tolist() == [False, True]
    assert threshold_of({"screening": 0.4}, "screening", np.array(["a", "b"])).tolist() == [0.4, 0.4]


def test_output_columns_follow_the_heads():
    assert output_columns({"类别": ["甲", "乙"]}) == ["类别", "类别_confidence", "needs_review", "route_status", "model_version"]
    assert "department_top3" in output_columns(LABELS) and "topic" not in output_columns(LABELS)


def test_urgent_rule_favours_recall_and_the_danger_lexicon():
    labels = {"urgent": ["否", "是"]}
    probs = {"urgent": np.array([[0.9, 0.1], [0.75, 0.25], [0.99, 0.01]])}
    docs = ["楼道灯坏了", "小区有异味", "楼道里燃气泄漏了"]
    out = pd.DataFrame(decide(probs, labels, docs, thresholds={}, rules={"urgent": {"threshold": 0.2, "lexicon_precision": 0.6}}))
    assert out["urgent"].tolist() == ["否", "是", "是"]
    assert out["urgent_confidence"].tolist() == [0.9, 0.25, 0.6]
