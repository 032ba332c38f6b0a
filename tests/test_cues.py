import numpy as np
import pytest

from classifier.cues import CueLexicon, bundled_lexicon, cue_hits
from classifier.text import normalize


def test_bundled_lexicon_has_a_documented_group_per_non_default_category():
    lexicon = bundled_lexicon()
    assert lexicon.categories == ("纪检监察", "信访事项", "舆论监督", "无效")
    assert all(len(lexicon.notes[c]) > 40 for c in lexicon.categories)
    named = {"纪检监察": ["贿赂", "回扣", "贪污", "挪用公款", "吃拿卡要", "以权谋私", "优亲厚友", "贿选"],
             "信访事项": ["征地拆迁", "多次上访", "不服…决定"], "无效": ["测试", "点个赞"]}  # fmt: skip
    for category, cues in named.items():
        assert set(cues) <= {cue for c, cue in lexicon.cues if c == category}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("举报我们镇副镇长收了开发商的红包", "纪检监察"),
        ("村支书把低保名额都给了自己亲戚", "纪检监察"),
        ("镇里分救灾物资优亲厚友", "纪检监察"),
        ("不服区政府作出的房屋征收决定", "信访事项"),
        ("征地补偿标准太低，全村人都不同意", "信访事项"),
        ("花了几百万建的广场被白白浪费", "舆论监督"),
        ("测试测试，收到请忽略", "无效"),
        ("非常感谢领导的重视，问题已经解决", "无效"),
    ],
)
def test_cues_point_to_their_category(text, category):
    hits = cue_hits([normalize(text)])[0]
    assert hits[bundled_lexicon().categories.index(category)] >= 1 and hits.argmax() == bundled_lexicon().categories.index(category)


def test_gapped_cue_stays_within_one_clause_and_traditional_script_matches():
    lexicon = CueLexicon({"信访事项": ["不服…决定"], "无效": ["测试"]})
    docs = [normalize(t) for t in ["我不服区政府作出的决定", "我不服。后来他们作出了决定", "測試一下", "与本案无关"]]
    assert lexicon.hits(docs).tolist() == [[1, 0], [0, 0], [0, 1], [0, 0]]


def test_counts_per_cue_and_upper_case():
    lexicon = CueLexicon({"无效": ["test", "测试…一下"], "纪检监察": ["贿赂"]})
    counts = lexicon.cue_counts(["TEST test 测试了一下", "收受贿赂"])
    assert counts.tolist() == [[2, 1, 0], [0, 0, 1]]
    assert np.array_equal(lexicon.hits(["TEST test 测试了一下", "收受贿赂"]), [[3, 0], [0, 1]])


@pytest.mark.parametrize("raw", [{}, {"categories": [{"screening": "无效"}]}, {"categories": [{"screening": "无效", "cues": []}]},
                                 {"categories": [{"screening": "无效", "cues": ["…决定"]}]}])  # fmt: skip
def test_malformed_lexicon_is_an_error(raw):
    with pytest.raises(ValueError, match="cue|Cue"):
        CueLexicon.from_dict(raw)
