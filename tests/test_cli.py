import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.cli import app
from conftest import tiny_frame

runner = CliRunner()


@pytest.fixture
def messages_csv(tmp_path):
    path = tmp_path / "day.csv"
    frame = tiny_frame().rename(columns={"title": "留言主题", "text": "留言详情"})
    frame.to_csv(path, index=False, encoding="gbk")
    return path


def test_route_writes_one_row_per_input_in_order(messages_csv, tiny_model_dir, tmp_path):
    out = tmp_path / "routed.csv"
    result = runner.invoke(app, ["route", str(messages_csv), "-o", str(out), "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    routed = pd.read_csv(out, dtype=str, keep_default_na=False)
    source = pd.read_csv(messages_csv, dtype=str, encoding="gbk", keep_default_na=False)
    assert routed["id"].tolist() == source["id"].tolist()
    assert {"留言主题", "留言详情", "department_input", "screening", "department_top3", "needs_review",
            "route_status", "model_version", "urgent"} <= set(routed.columns)  # fmt: skip
    assert (routed["route_status"] == "ok").all()
    assert (routed["department"] == routed["department_input"]).mean() >= 0.9


def test_route_to_xlsx_and_jsonl(messages_csv, tiny_model_dir, tmp_path):
    for name in ("out.xlsx", "out.jsonl"):
        result = runner.invoke(app, ["route", str(messages_csv), "-o", str(tmp_path / name), "-m", str(tiny_model_dir)])
        assert result.exit_code == 0, result.output
    assert len(pd.read_excel(tmp_path / "out.xlsx")) == len(tiny_frame())
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(tiny_frame()) and json.loads(lines[0])["route_status"] == "ok"


def test_evaluate_json_is_one_object(messages_csv, tiny_model_dir):
    result = runner.invoke(app, ["evaluate", "--data", str(messages_csv), "-m", str(tiny_model_dir), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    department = payload["heads"]["department"]
    assert department["n"] == len(tiny_frame())
    assert {"accuracy", "macro_f1", "weighted_f1", "top3_accuracy", "per_class"} <= set(department)
    assert department["top3_accuracy"] >= department["accuracy"]


def test_evaluate_report(messages_csv, tiny_model_dir, tmp_path):
    result = runner.invoke(app, ["evaluate", "--data", str(messages_csv), "-m", str(tiny_model_dir), "--report", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "| department |" in report and (tmp_path / "r" / "confusion_department.png").stat().st_size > 1000


def test_train_custom_label_column(tmp_path):
    frame = tiny_frame().rename(columns={"department": "label"})[["title", "text", "label"]]
    frame.to_csv(tmp_path / "mine.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "mine.csv"), "--out", str(tmp_path / "m"), "--label-col", "label"])
    assert result.exit_code == 0, result.output
    assert "label: accuracy" in result.stdout
    labels = json.loads((tmp_path / "m" / "labels.json").read_text(encoding="utf-8"))
    assert list(labels) == ["label"]
    routed = runner.invoke(app, ["predict", "公司拖欠工资", "-m", str(tmp_path / "m"), "--json"])
    assert json.loads(routed.stdout)["label"] in labels["label"]


def test_train_missing_label_column_is_clear(tmp_path):
    tiny_frame().to_csv(tmp_path / "d.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "d.csv"), "--out", str(tmp_path / "m"), "--label-col", "nope"])
    assert result.exit_code == 2 and "nope" in result.stderr and "Traceback" not in result.output


def test_predict_shows_terms(tiny_model_dir):
    result = runner.invoke(app, ["predict", "小区物业不修电梯，业委会不管", "--title", "物业", "-m", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert "住房和城乡建设局" in result.stdout and "top terms" in result.stdout


def test_predict_empty_message_fails_cleanly(tiny_model_dir):
    result = runner.invoke(app, ["predict", "   ", "-m", str(tiny_model_dir)])
    assert result.exit_code == 2 and "empty text" in result.stderr


def test_bad_model_folder(messages_csv, tmp_path):
    result = runner.invoke(app, ["route", str(messages_csv), "-o", str(tmp_path / "o.csv"), "-m", str(tmp_path / "none")])
    assert result.exit_code == 2 and "Model folder not found" in result.stderr
    assert not (tmp_path / "o.csv").exists()


def test_macro_f1_counts_predicted_labels_missing_from_truth():
    from classifier.evaluate import head_metrics

    metrics = head_metrics(["a", "a", "b"], ["a", "c", "b"], [["a"], ["c"], ["b"]])
    assert metrics["macro_f1"] == round((2 / 3 + 1 + 0) / 3, 4)


def test_train_with_a_head_unlabelled_in_validation(tmp_path):
    frame = tiny_frame()
    frame.loc[:11, "urgent"] = ""  # 4 labelled rows: the validation split may get none of them
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "d.csv"), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output


def test_text_column_is_not_also_the_title(tmp_path, tiny_model_dir):
    from classifier.io import open_table

    frame = tiny_frame().rename(columns={"title": "留言主题"})
    frame.to_csv(tmp_path / "d.csv", index=False)
    table = open_table(tmp_path / "d.csv", text_col="留言主题")
    assert table.text_col == "留言主题" and table.title_col is None
