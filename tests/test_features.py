import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from classifier.features import NgramVectorizer, PhraseCounter, TextFeatures
from classifier.text import normalize

DOCS = [normalize(t) for t in [
    "小区物业乱收费，业委会不管。", "公司拖欠工资三个月。", "学校乱收补课费，请教育局处理。",
    "物业不修电梯，业主很困难。", "拖欠工资的老板跑了。", "",
]]  # fmt: skip


def _reference(vectorizer: TfidfVectorizer, docs) -> np.ndarray:
    """scikit-learn's raw-count TF-IDF, each row divided by sqrt(sum of count * idf**2)."""
    tfidf = vectorizer.transform(docs).toarray()
    counts = np.divide(tfidf, vectorizer.idf_, out=np.zeros_like(tfidf), where=tfidf > 0)
    norms = np.sqrt(counts @ vectorizer.idf_**2)
    return tfidf / np.where(norms == 0, 1, norms)[:, None]


def test_char_ngrams_match_scikit_learn_tfidf():
    ours = NgramVectorizer(analyzer="char", ngram_range=(1, 3), min_df=1, max_features=None).fit(DOCS)
    reference = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=False, norm=None).fit(DOCS)
    columns = [reference.vocabulary_[name] for name in ours.vocabulary_]
    assert sorted(ours.vocabulary_) == sorted(reference.vocabulary_)
    np.testing.assert_allclose(ours.transform(DOCS).toarray(), _reference(reference, DOCS)[:, columns], atol=1e-6)


def test_word_ngrams_match_scikit_learn_on_word_lists():
    words = [doc.split("，") for doc in DOCS]
    ours = NgramVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, max_features=None).fit(words)
    reference = TfidfVectorizer(analyzer=lambda d: d + [f"{a} {b}" for a, b in zip(d, d[1:])], norm=None).fit(words)
    columns = [reference.vocabulary_[name] for name in ours.vocabulary_]
    np.testing.assert_allclose(ours.transform(words).toarray(), _reference(reference, words)[:, columns], atol=1e-6)


def test_duplicate_entries_give_the_same_products():
    features = TextFeatures(min_df=1).fit(DOCS)
    weights = np.random.default_rng(0).normal(size=(features.n_features, 3)).astype(np.float32)
    fast = features.transform(DOCS, canonical=False)
    exact = features.transform(DOCS)
    assert fast.nnz > exact.nnz and exact.has_canonical_format
    np.testing.assert_allclose(fast @ weights, exact @ weights, rtol=1e-5, atol=1e-6)


def test_min_df_and_max_features_keep_most_frequent():
    vectorizer = NgramVectorizer(analyzer="char", ngram_range=(1, 1), min_df=2, max_features=3).fit(DOCS)
    assert len(vectorizer.vocabulary_) == 3
    assert {"。", ","} <= set(vectorizer.vocabulary_)


def test_unseen_and_empty_documents_are_zero_rows():
    vectorizer = NgramVectorizer(analyzer="char", min_df=1).fit(DOCS)
    matrix = vectorizer.transform(["", "𠀀𠀁"])
    assert matrix.shape[0] == 2 and matrix.nnz == 0


def test_state_round_trip():
    vectorizer = NgramVectorizer(analyzer="char", min_df=1).fit(DOCS)
    again = NgramVectorizer.from_state(vectorizer.get_params(), vectorizer.state(), vectorizer.vocabulary_)
    assert (vectorizer.transform(DOCS) != again.transform(DOCS)).nnz == 0


def test_not_fitted_and_bad_params():
    with pytest.raises(ValueError, match="not fitted"):
        NgramVectorizer().transform(DOCS)
    with pytest.raises(ValueError, match="ngram_range"):
        NgramVectorizer(ngram_range=(3, 1)).fit(DOCS)


def test_text_features_union_of_word_and_char_blocks():
    features = TextFeatures(min_df=1).fit(DOCS)
    matrix = features.transform(DOCS[:5])
    words = features.word.transform(features._words(DOCS[:5]))
    np.testing.assert_allclose(matrix[:, : words.shape[1]].toarray(), words.toarray() * np.sqrt(0.5), rtol=1e-5)
    assert len(features.feature_names) == features.n_features == matrix.shape[1]


def test_phrase_counter_counts_overlapping_occurrences():
    counts = PhraseCounter(["物业", "工资", "拖欠工资"]).counts(["物业物业拖欠工资", "无关", ""])
    assert counts.tolist() == [[2, 1, 1], [0, 0, 0], [0, 0, 0]]


def test_vectorised_stop_words_match_tokenize():
    from classifier.text import segment, stopwords, tokenize

    docs = DOCS[:5] + [normalize("我们的公司ABC拖欠了工资, 请你们 处理!")]
    filtered = NgramVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, stop_words=sorted(stopwords()))
    filtered.fit([segment(d.lower()) for d in docs])
    reference = NgramVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1).fit([tokenize(d) for d in docs])
    assert sorted(filtered.vocabulary_) == sorted(reference.vocabulary_)
    order = [reference.vocabulary_.index(name) for name in filtered.vocabulary_]
    left = filtered.transform([segment(d.lower()) for d in docs]).toarray()
    right = reference.transform([tokenize(d) for d in docs]).toarray()[:, order]
    np.testing.assert_allclose(left, right, atol=1e-6)


def test_colliding_buckets_still_find_every_ngram():
    roomy = NgramVectorizer(analyzer="char", min_df=1, max_features=None).fit(DOCS)
    cramped = NgramVectorizer(analyzer="char", min_df=1, max_features=None, table_bits=3).fit(DOCS)
    assert cramped.vocabulary_ == roomy.vocabulary_ and len(cramped._index.spill_keys) > 0
    assert (cramped.transform(DOCS) != roomy.transform(DOCS)).nnz == 0
    assert cramped.transform(["完全陌生的字符串𠀀"]).nnz == roomy.transform(["完全陌生的字符串𠀀"]).nnz


def test_phrase_counter_takes_hundreds_of_keywords():
    words = [chr(0x4E00 + i) + chr(0x4E00 + 7 * i % 977) for i in range(600)]
    counts = PhraseCounter(words).counts(["".join(words[:5])])
    assert counts.sum() >= 5 and counts[0, :5].tolist() == [1, 1, 1, 1, 1]
