"""Behavioural tests of the shipped default model (models/default)."""

import pytest

from classifier.artifact import read_metadata
from classifier.predict import predict
from classifier.router import route_rows

pytestmark = pytest.mark.shipped


def test_shipped_model_is_small_and_verified(shipped_model):
    meta = read_metadata(shipped_model.path)
    assert set(meta["heads"]) == {"topic", "screening", "department", "urgent"}
    assert sum((shipped_model.path / name).stat().st_size for name in meta["files"]) < 25 * 2**20


@pytest.mark.parametrize("place", ["A市A3区", "B市B2县", "C市C5区", "K市K2县"])
def test_place_name_does_not_change_department(shipped_model, place):
    text = f"{place}某小区物业公司乱收物业费，电梯坏了一个月不修，业委会也不管。"
    assert predict(shipped_model, text)["department"] == "住房和城乡建设局"


@pytest.mark.parametrize("text", [
    "我们公司拖欠工资已经半年，老板拒不支付，请求劳动监察帮忙讨薪。",
    "我们单位拖欠薪水已经半年，老板拒不支付，请求劳动监察帮忙讨薪。",
])  # fmt: skip
def test_synonym_keeps_department(shipped_model, text):
    assert predict(shipped_model, text)["department"] == "人力资源和社会保障局"


def test_bribe_goes_to_discipline_commission(shipped_model):
    result = predict(shipped_model, "举报我村村支书贪污扶贫款、收受贿赂、以权谋私，请纪委调查。", "举报村支书贪污受贿")
    assert result["screening"] == "纪检监察" and result["department"] == "纪委监委"


def test_spam_is_invalid(shipped_model):
    out = route_rows(shipped_model, ["", ""], ["asdfasdf qwerty", "哈哈哈哈哈哈哈哈"])
    assert out["screening"].tolist() == ["无效", "无效"] and out["department"].tolist() == ["", ""]
