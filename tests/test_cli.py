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


def test_custom_label_model_routes_and_predicts_its_own_heads(tmp_path):
    frame = tiny_frame().rename(columns={"department": "类别"})[["title", "text", "类别"]]
    frame.to_csv(tmp_path / "mine.csv", index=False)
    assert runner.invoke(app, ["train", "--data", str(tmp_path / "mine.csv"), "--out", str(tmp_path / "m"),
                               "--label-col", "类别"]).exit_code == 0  # fmt: skip
    out = tmp_path / "routed.csv"
    result = runner.invoke(app, ["route", str(tmp_path / "mine.csv"), "-o", str(out), "-m", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    routed = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(routed.columns) == ["title", "text", "类别_input", "类别", "类别_confidence", "needs_review",
                                    "route_status", "model_version"]  # fmt: skip
    shown = runner.invoke(app, ["predict", "公司拖欠工资三个月", "-m", str(tmp_path / "m")])
    assert shown.exit_code == 0 and "类别: 人力资源和社会保障局" in shown.stdout
    assert "screening" not in shown.stdout


def test_labels_made_of_repeated_messages_are_learnt(tmp_path):
    """Each label one message repeated: every label is a single near-copy group, kept for training."""
    frame = pd.DataFrame({"text": ["停水了请尽快恢复供水", "小区停电一整天", "路灯不亮很危险", "垃圾没人清运"] * 10,
                          "类别": ["供水", "供电", "市政", "环卫"] * 10})  # fmt: skip
    frame.to_csv(tmp_path / "mine.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "mine.csv"), "--out", str(tmp_path / "m"),
                                 "--label-col", "类别", "--min-df", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no validation rows" in result.stdout and "None" not in result.stdout
    shown = runner.invoke(app, ["predict", "停水了请尽快恢复供水", "-m", str(tmp_path / "m")])
    assert shown.exit_code == 0 and "类别: 供水" in shown.stdout


def test_predict_shows_each_probability_once_and_working_days(tiny_model_dir):
    result = runner.invoke(app, ["predict", "公司拖欠工资三个月不发", "-m", str(tiny_model_dir)])
    lines = result.stdout.splitlines()
    department = next(line for line in lines if line.startswith("department:"))
    alternatives = next(line for line in lines if line.startswith("alternatives:"))
    assert "人力资源和社会保障局" in department and "人力资源和社会保障局" not in alternatives
    assert any(line.startswith("deadline: ") and "working day" in line for line in lines)


def test_messages_and_help_are_chinese_by_default(tiny_model_dir, monkeypatch, tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k not in ("COMPLAINT_ROUTER_LANG", "LANG", "LC_ALL", "LC_MESSAGES")}
    command = [sys.executable, "-m", "classifier.cli"]
    shown = subprocess.run([*command, "route", "--help"], env=env, capture_output=True, text=True)
    assert "输出文件" in shown.stdout
    missing = subprocess.run([*command, "route", str(tmp_path / "none.csv"), "-o", str(tmp_path / "o.csv")],
                             env=env, capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 2 and missing.stderr.startswith("错误：")
    english = subprocess.run([*command, "--lang", "en", "route", "--help"], env=env, capture_output=True, text=True)
    assert "Output file" in english.stdout


def test_a_bug_is_exit_1_and_debug_shows_the_traceback(tiny_model_dir, monkeypatch):
    import classifier.predict

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(classifier.predict, "predict", broken)
    result = runner.invoke(app, ["predict", "公司拖欠工资", "-m", str(tiny_model_dir)])
    assert result.exit_code == 1 and "internal error" in result.stderr and "--debug" in result.stderr
    debug = runner.invoke(app, ["--debug", "predict", "公司拖欠工资", "-m", str(tiny_model_dir)])
    assert isinstance(debug.exception, KeyError)


def test_train_options_come_from_the_config():
    from dataclasses import fields

    from classifier.config import TrainConfig

    shown = runner.invoke(app, ["train", "--help"], terminal_width=200).stdout
    for f in fields(TrainConfig):
        assert (f.metadata.get("flag") or "--" + f.name.replace("_", "-")) in shown


def test_predict_says_when_urgent_is_flagged_to_be_safe(monkeypatch):
    from classifier.cli import prediction_lines

    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")
    base = {"needs_review": False, "urgent_confidence": 0.04}
    assert "紧急：是 (0.04，从严标记，请核实)" in prediction_lines({**base, "urgent": "是"}, ["urgent"])
    assert "紧急：是 (0.97)" in prediction_lines({**base, "urgent": "是", "urgent_confidence": 0.97}, ["urgent"])
    assert "紧急：否 (0.04)" in prediction_lines({**base, "urgent": "否"}, ["urgent"])
    named = {**base, "urgent": "是", "urgent_confidence": 0.26, "danger_terms": ["着火了"]}
    assert "紧急：是 (0.26，命中危险词：着火了)" in prediction_lines(named, ["urgent"])


def test_predict_names_the_danger_words_it_found(tiny_model):
    from classifier.predict import predict

    result = predict(tiny_model, "我家楼下商铺着火了，浓烟很大，请赶紧处理")
    assert "着火了" in result["danger_terms"] and result["urgent"] == "是"
    assert predict(tiny_model, "小区电梯坏了一个月没人修")["danger_terms"] == []
