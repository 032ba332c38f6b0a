import difflib

import pytest

from classifier.data import load_bundled
from classifier.text import PHONE_TOKEN, has_han, normalize, segment, stopwords, to_simplified, tokenize, traditional_chars


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３，你好！", "ABC123,你好!"),
        ("a\u3000b\t\tc\r\nd", "a b c d"),
        ("<p>路灯<br/>不亮</p>&nbsp;&amp;", "路灯 不亮 &"),
        ("电话：*****************，谢谢", f"电话: {PHONE_TOKEN} ,谢谢"),
        ("手机177××××1292联系", f"手机 {PHONE_TOKEN} 联系"),
        ("固话0731-00000000", f"固话 {PHONE_TOKEN}"),
        ("2019-02-28发生", "2019-02-28发生"),
        ("零宽\u200b字符\x00控制", "零宽 字符 控制"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_keeps_head_and_tail_of_long_text():
    text = "头" * 5000 + "尾" * 5000
    out = normalize(text, max_chars=300)
    assert len(out) == 300 and out.startswith("头") and out.endswith("尾")


def test_masked_phone_is_one_token():
    assert tokenize(normalize("请拨打*****************联系我")).count(PHONE_TOKEN.lower()) == 1


def test_domain_words_stay_whole_and_stopwords_go():
    words = tokenize(normalize("我们要求人力资源和社会保障局处理拖欠工资的问题"))
    assert "人力资源和社会保障局" in words and "拖欠工资" in words
    assert not set(words) & stopwords()


@pytest.mark.parametrize("tokenizer", ["rjieba", "jieba"])
def test_tokenizers_lowercase_and_drop_punctuation(tokenizer):
    assert tokenize("ABC公司,拖欠工资!", tokenizer) == ["abc", "公司", "拖欠工资"]


def test_has_han():
    assert has_han("abc中") and not has_han("abc 123")


def test_fast_path_agrees_with_jieba_on_bundled_corpus():
    """rjieba (used for features) against jieba itself, same dictionary, on 600 bundled messages."""
    frame = load_bundled("routing").head(600)
    same = total = 0
    for title, text in zip(frame["title"], frame["text"]):
        doc = normalize(f"{title} {text}")
        fast, reference = segment(doc, "rjieba"), segment(doc, "jieba")
        matcher = difflib.SequenceMatcher(a=reference, b=fast, autojunk=False)
        same += sum(block.size for block in matcher.get_matching_blocks())
        total += len(reference)
    agreement = same / total
    assert agreement >= 0.999, f"token agreement {agreement:.4f}"


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("市北區同安路飯店油煙擾民", "市北区同安路饭店油烟扰民"),
        ("舉報我們鎮副鎮長收了開發商的紅包", "举报我们镇副镇长收了开发商的红包"),
        ("村口有家黑診所無證行醫，請衛生部門查處", "村口有家黑诊所无证行医,请卫生部门查处"),
        ("寬頻網速太慢，客服一直不解決", "宽频网速太慢,客服一直不解决"),
    ],
)
def test_traditional_text_normalises_to_its_simplified_form(traditional, simplified):
    assert normalize(traditional) == simplified
    assert normalize(simplified) == simplified


def test_simplified_words_of_a_mixed_text_stay_as_written():
    # OpenCC's phrase table alone would turn 破坏 into 破坯; only the traditional characters change
    assert to_simplified("乾隆世家工地爆破破坏了房屋") == "乾隆世家工地爆破破坏了房屋"
    assert to_simplified("明昇壹城的路灯被打坏了") == "明升壹城的路灯被打坏了"


def test_traditional_character_list_matches_opencc():
    import unicodedata

    import opencc

    chars = "".join(chr(i) for a, b in [(0x3400, 0x4DBF), (0x4E00, 0x9FFF)] for i in range(a, b + 1))
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    changed = {a for a, b in zip(chars, converted) if a != b and unicodedata.is_normalized("NFKC", a)}
    assert changed == traditional_chars()
