"""Shared fixtures: a tiny labelled corpus, a tiny linear model trained on it, and the shipped model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from classifier.artifact import default_model_path, load_model
from classifier.catalogue import Catalogue
from classifier.config import TrainConfig
from classifier.data import catalogue_path

pytest_plugins = ["tiny_bert"]  # fixtures of the tiny BERT checkpoint (torch is imported only when they are used)

# (title, text, screening, department, topic, urgent)
TINY = [
    ("小区物业乱收费", "我们小区物业公司乱收停车费，业委会也不管，请住建局查处物业。", "政务服务", "住房和城乡建设局", "城乡建设", "否"),
    ("电梯坏了没人修", "小区电梯坏了一个多月，物业一直推脱不修，老人上下楼很困难。", "政务服务", "住房和城乡建设局", "城乡建设", "否"),
    ("开发商延期交房", "开发商延期交房一年多，购房合同写的交房日期早就过了，请住建局督促。", "政务服务", "住房和城乡建设局", "城乡建设", "否"),
    ("公积金提取难", "住房公积金提取手续太复杂，跑了五趟还没办下来，希望简化公积金流程。", "政务服务", "住房和城乡建设局", "城乡建设", "否"),
    ("公司拖欠工资", "公司拖欠我们三个月工资，老板一直不发，请劳动监察帮忙讨薪。", "政务服务", "人力资源和社会保障局", "劳动和社会保障", "否"),
    ("社保断缴", "单位没有给员工缴纳社保，养老保险断缴两年，要求补缴社保。", "政务服务", "人力资源和社会保障局", "劳动和社会保障", "否"),
    ("加班没有加班费", "工厂每天加班四个小时，没有加班费，也不签劳动合同，工资被克扣。", "政务服务", "人力资源和社会保障局", "劳动和社会保障", "否"),
    ("退休养老金", "我去年退休，养老金到现在还没发放，社保局说在审核，请尽快发放养老金。", "政务服务", "人力资源和社会保障局", "劳动和社会保障", "否"),
    ("学校乱收费", "孩子所在的中学乱收补课费，老师强制学生参加课外补课，请教育局处理。", "政务服务", "教育局", "教育文体", "否"),
    ("幼儿园入学难", "小区配套幼儿园一直没开办，孩子入学要跑很远，学位紧张，请教育局解决。", "政务服务", "教育局", "教育文体", "否"),
    ("学区划分不合理", "今年学区划分不合理，孩子不能就近入学，小学招生政策请教育局说明。", "政务服务", "教育局", "教育文体", "否"),
    ("教师工资拖欠", "乡村教师的绩效工资拖欠半年，老师们很有意见，请教育局督促发放。", "政务服务", "教育局", "教育文体", "否"),
    ("村干部贪污", "村支书贪污扶贫款，收受贿赂，以权谋私，请纪委调查处理。", "纪检监察", "纪委监委", "城乡建设", "否"),
    ("局长受贿", "某局长收受开发商贿赂，公款吃喝，违反纪律，请纪委监委查处。", "纪检监察", "纪委监委", "城乡建设", "否"),
    ("干部公车私用", "单位领导长期公车私用，挪用公款旅游，请纪委查一查腐败问题。", "纪检监察", "纪委监委", "城乡建设", "否"),
    ("燃气泄漏", "楼道里燃气泄漏味道很大，随时可能爆炸，请马上派人处理燃气管道。", "政务服务", "住房和城乡建设局", "城乡建设", "是"),
]


def tiny_frame() -> pd.DataFrame:
    rows = [
        {"id": f"T{i:03d}", "channel": "test", "title": t, "text": x, "time": "", "screening": s,
         "department": d, "topic": p, "urgent": u}  # fmt: skip
        for i, (t, x, s, d, p, u) in enumerate(TINY)
    ]
    return pd.DataFrame(rows)


def tiny_config(**overrides) -> TrainConfig:
    settings = {"min_df": 1, "calibration_folds": 2, "validation_fraction": 0.25, "keyword_weight": 0.0,
                "max_word_features": 5000, "max_char_features": 5000}  # fmt: skip
    settings.update(overrides)
    return TrainConfig.from_dict(settings)


@pytest.fixture(autouse=True)
def english_messages(monkeypatch):
    """Tests read messages in English (``--lang en``); tests of the Chinese default unset this."""
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "en")


@pytest.fixture(autouse=True)
def no_debug(monkeypatch):
    """Every test starts without debug mode (``--debug`` sets it in the process environment of the CLI tests)."""
    monkeypatch.delenv("COMPLAINT_ROUTER_DEBUG", raising=False)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from classifier.training import train

    out = tmp_path_factory.mktemp("models") / "tiny"
    train(tiny_frame(), out, tiny_config(), catalogue=Catalogue.load(catalogue_path()))
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    return load_model(tiny_model_dir)


@pytest.fixture(scope="session")
def shipped_model():
    return load_model(default_model_path())
