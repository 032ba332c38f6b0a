import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

import classifier.groups as groups
from classifier.data import load_bundled, message_docs
from classifier.groups import copy_share, near_duplicate_groups, similar_pairs

BASE = "A市A3区幸福家园小区的电梯坏了一个多月，物业公司一直推脱不修，老人上下楼非常困难，请相关部门督促维修。"


def test_near_copies_share_a_group_and_chains_join():
    texts = [
        BASE,
        "公司拖欠我们三个月工资，老板一直不发，请劳动监察帮忙讨薪。",
        BASE.replace("一个多月", "两个多月"),
        BASE.replace("一个多月", "两个多月").replace("非常困难", "很困难"),
        "",
        BASE,
    ]
    ids = near_duplicate_groups(texts)
    assert ids.tolist() == [0, 1, 0, 0, 2, 0]
    assert copy_share(ids) == pytest.approx(4 / 6)


def test_threshold_one_keeps_only_identical_texts():
    texts = [BASE, BASE.replace("一个多月", "两个多月"), BASE]
    assert near_duplicate_groups(texts, threshold=1.0).tolist() == [0, 1, 0]


@pytest.mark.parametrize("threshold", [0.0, -0.5, 1.5])
def test_threshold_out_of_range_is_an_error(threshold):
    with pytest.raises(ValueError, match="threshold"):
        near_duplicate_groups([BASE, BASE], threshold=threshold)


def test_blocks_match_scikit_learn_cosine(monkeypatch):
    """Same pairs as a dense scikit-learn TF-IDF cosine matrix, with blocks smaller than the data."""
    docs = message_docs(load_bundled("routing").head(60))
    monkeypatch.setattr(groups, "BLOCK_ROWS", 7)
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), lowercase=False).fit_transform(docs)
    similarity = np.triu((matrix @ matrix.T).toarray(), k=1)
    expected = set(zip(*np.nonzero(similarity >= 0.3)))
    first, second = similar_pairs(docs, threshold=0.3)
    assert expected and set(zip(first.tolist(), second.tolist())) == {(int(i), int(j)) for i, j in expected}
    _, labels = connected_components(similarity >= 0.3, directed=False)
    ids = near_duplicate_groups(docs, threshold=0.3)
    assert len(set(zip(labels.tolist(), ids.tolist()))) == len(set(ids.tolist())) == labels.max() + 1


def test_fewer_than_two_texts():
    assert near_duplicate_groups([]).tolist() == [] and near_duplicate_groups([BASE]).tolist() == [0]
    assert copy_share(np.zeros(0, dtype=np.int64)) == 0.0
