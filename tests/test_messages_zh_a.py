"""Error messages a person reads are Chinese by default (inputs, outputs, model folders, training settings),
English with ``COMPLAINT_ROUTER_LANG=en``; what programs read (``route_status`` reasons) stays English."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.cli import app
from classifier.errors import InputError
from classifier.io import detect_encoding

GOOD = "小区物业乱收停车费，请住建局查处物业。"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def chinese(monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def run(*args: str | Path):
    return CliRunner().invoke(app, list(map(str, args)))


def error_line(result, *expected: str) -> str:
    """The one line on stderr of a failure with exit code 2, in Chinese, holding ``expected``."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    line = result.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith("错误：") and CHINESE.search(line.removeprefix("错误：")), line
    for text in expected:
        assert text in line, (text, line)
    return line


def test_missing_input_file(tiny_model_dir, tmp_path):
    result = run("route", tmp_path / "没有这个文件.csv", "-o", tmp_path / "out.csv", "--model", tiny_model_dir)
    error_line(result, "找不到输入文件", "没有这个文件.csv")


def test_input_without_text_column(tiny_model_dir, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["编号", "日期"], ["1", "2024-05-01"]])
    result = run("route", path, "-o", tmp_path / "out.csv", "--model", tiny_model_dir)
    error_line(result, "没有找到正文列", "in.csv", "'日期'", "--text-col")


def test_named_text_column_that_is_not_there(tiny_model_dir, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["编号", "text"], ["1", GOOD]])
    result = run("route", path, "-o", tmp_path / "out.csv", "--model", tiny_model_dir, "--text-col", "诉求")
    error_line(result, "没有正文列“诉求”", "'text'")


def test_tampered_model_folder_names_the_file(tiny_model_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    labels = json.loads((model / "labels.json").read_text(encoding="utf-8"))
    labels["department"].reverse()
    (model / "labels.json").write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    result = run("route", path, "-o", tmp_path / "out.csv", "--model", model)
    error_line(result, "校验和不符", "labels.json")
    assert not (tmp_path / "out.csv").exists()


def test_missing_model_folder(tmp_path):
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    result = run("route", path, "-o", tmp_path / "out.csv", "--model", tmp_path / "no_model")
    error_line(result, "找不到模型目录", "no_model")


def test_unknown_setting_in_a_model_folder(tiny_model_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    meta = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
    meta["config"]["future_setting"] = 1
    (model / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    result = run("route", path, "-o", tmp_path / "out.csv", "--model", model)
    error_line(result, "未知的训练设置", "future_setting")


def test_out_of_range_setting(tmp_path):
    path = write_csv(tmp_path / "train.csv", [["text", "department"], [GOOD, "住房和城乡建设局"]])
    result = run("train", "--data", path, "--out", tmp_path / "model", "--svm-c", "-1")
    error_line(result, "C 应为正数", "-1")
    assert not (tmp_path / "model").exists()


def test_output_folder_that_does_not_exist(tiny_model_dir, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    result = run("route", path, "-o", tmp_path / "nowhere" / "out.csv", "--model", tiny_model_dir)
    error_line(result, "输出文件夹", "nowhere", "请先创建")


def test_library_errors_are_chinese():
    with pytest.raises(InputError, match="UTF-16.*另存为 UTF-8"):
        detect_encoding("编号,正文\n".encode("utf-16"))


def test_english_on_request(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "en")
    result = run("route", tmp_path / "missing.csv", "-o", tmp_path / "out.csv", "--model", tiny_model_dir)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"Error: Input file not found: {tmp_path / 'missing.csv'}"


def test_row_reasons_in_output_stay_english(tiny_model_dir, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD], ["2", GOOD, "多出的一格"]])
    result = run("route", path, "-o", tmp_path / "out.csv", "--model", tiny_model_dir)
    assert result.exit_code == 0, result.output
    status = pd.read_csv(tmp_path / "out.csv", dtype=str)["route_status"].tolist()
    assert status == ["ok", "error: line 3 has 3 fields, the header has 2"]


def test_predict_says_why_a_message_cannot_be_routed_in_chinese(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")
    result = CliRunner().invoke(app, ["predict", "", "--model", str(tiny_model_dir)])
    assert result.exit_code != 0 and result.stderr.strip() == "错误：无法分派这条留言：正文为空。"
