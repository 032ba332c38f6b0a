"""Personal-data masking: the team's corpus (recall targets), the masking itself, and route --mask-pii."""

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.cli import app
from classifier.privacy import TOKENS, find_pii, id_checksum_ok, luhn_ok, mask_frame, mask_text, parse_marked, score

CORPUS = Path(__file__).parent / "privacy" / "corpus.tsv"
ROUTING = ["screening", "screening_confidence", "department", "department_confidence", "department_top3", "topic",
           "topic_confidence", "needs_review", "route_status", "urgent", "urgent_confidence"]  # fmt: skip


def corpus() -> list[tuple[str, str]]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t", 1)) for line in lines if line and not line.startswith("#")]


def test_corpus_size():
    rows = corpus()
    positives = sum(len(parse_marked(text)[1]) for group, text in rows if group == "pos")
    negatives = sum(1 for group, text in rows if group.startswith("neg:"))
    assert positives >= 200 and negatives >= 200
    assert all(not parse_marked(text)[1] for group, text in rows if group != "pos")


def test_corpus_precision_and_recall():
    result = score(parse_marked(text) for _, text in corpus())
    for kind in ("mobile", "landline", "id_number"):
        assert result[kind]["recall"] >= 0.98, (kind, result[kind])
    for kind, r in result.items():
        assert r["expected"] >= 20 and r["precision"] >= 0.95 and r["recall"] >= 0.9, (kind, r)


def test_checksums():
    assert id_checksum_ok("11010519491231002X") and not id_checksum_ok("110105194912310021")
    assert not id_checksum_ok("110105194913310028")  # month 13
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_mask_text_replaces_each_kind_and_counts():
    text = "我叫张伟，手机１３８１２３４５６７８，座机0731-84567890，邮箱zw@163.com，车牌湘A12345，王先生也在。"
    masked, counts = mask_text(text)
    assert masked == "我叫[姓名]，手机[手机号]，座机[电话]，邮箱[邮箱]，车牌[车牌号]，[姓名]先生也在。"
    assert counts == {"name": 2, "mobile": 1, "landline": 1, "email": 1, "plate": 1}
    assert set(TOKENS.values()) >= {"[身份证号]", "[银行卡号]"}


@pytest.mark.parametrize("text", [
    "2019-08-12 缴费12000元，住68号3-2-1606，案号(2019)湘0102民初1234号，邮编410000。",
    "电话0000-00000000，身份证*****************××××",  # masked in the data already: kept as it is
    "订单号2019081212345678，拨打12345热线，客服400-820-8820。",
])  # fmt: skip
def test_look_alikes_are_kept(text):
    assert mask_text(text) == (text, {})


def test_partly_masked_phone_is_masked():
    assert mask_text("电话177****5612")[0] == "电话[手机号]"


def test_mask_frame_touches_only_the_given_text_columns():
    frame = pd.DataFrame({"id": ["13812345678", "b"], "text": ["电话13812345678", None], "n": [1, 2]})
    masked, counts = mask_frame(frame, ["text", "absent"])
    assert masked["text"].tolist()[0] == "电话[手机号]" and pd.isna(masked["text"].tolist()[1])
    assert masked["id"].tolist() == ["13812345678", "b"] and counts == {"mobile": 1}
    assert frame["text"].tolist()[0] == "电话13812345678"  # the input frame is not changed


def test_findings_are_spans_of_the_original_text():
    text = "（０７３１）８４５６７８９０ 本人刘建国，男"
    assert [(f.kind, text[f.start : f.end]) for f in find_pii(text)] == [
        ("landline", "（０７３１）８４５６７８９０"),
        ("name", "刘建国"),
    ]


def test_route_mask_pii_on_the_bundled_sample(tmp_path, shipped_model):
    from classifier.data import bundled_path

    sample = bundled_path("sample")
    frame = pd.read_csv(sample, dtype=str, keep_default_na=False)
    frame.loc[0, "留言详情"] += "我叫李秀英，电话13812345678，身份证11010519491231002X。"
    frame.to_csv(tmp_path / "in.csv", index=False)
    runner = CliRunner()
    plain, masked = tmp_path / "plain.csv", tmp_path / "masked.csv"
    for out, extra in ((plain, []), (masked, ["--mask-pii"])):
        result = runner.invoke(app, ["route", str(tmp_path / "in.csv"), "-o", str(out), "--jobs", "1", *extra])
        assert result.exit_code == 0, result.output
    assert "[手机号] " in result.stderr and "[身份证号] " in result.stderr and "[姓名] " in result.stderr
    a = pd.read_csv(plain, dtype=str, keep_default_na=False)
    b = pd.read_csv(masked, dtype=str, keep_default_na=False)
    assert a[ROUTING].equals(b[ROUTING])  # masking runs after routing: same decisions
    assert "13812345678" in a.loc[0, "留言详情"] and "13812345678" not in b.loc[0, "留言详情"]
    assert b.loc[0, "留言详情"].endswith("我叫[姓名]，电话[手机号]，身份证[身份证号]。")
    assert (a["留言编号"] == b["留言编号"]).all() and len(b) == len(frame)
