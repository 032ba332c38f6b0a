"""Property-based: arbitrary Unicode never makes the text pipeline or the router raise, one row in, one row out."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier.router import output_columns, route_rows
from classifier.text import normalize, tokenize

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any code point but surrogates (st.text() default), with control characters, NUL and a few nasty ones favoured.
NASTY = st.sampled_from(["\x00", "\r", "\n", "\t", "\x0b", "\x1f", "\x7f", "\x85", "\u2028", "\ufeff", "\u200b",
                         "\ufdfa", "\U0010ffff", "&#0;", "&#x110000;", "&amp;", "<b>", "</", "1380013800", "****"])  # fmt: skip
TEXTS = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8", categories=None), max_size=300),
    st.lists(st.one_of(NASTY, st.text(max_size=5), st.sampled_from(["物业", "工资", "贪污"])), max_size=40).map("".join),
)  # fmt: skip


@SETTINGS
@given(TEXTS)
def test_normalize_never_raises(text):
    result = normalize(text)
    assert isinstance(result, str)
    assert result == result.strip()
    assert len(result) <= 3000
    assert "\x00" not in result


@SETTINGS
@given(TEXTS)
def test_tokenize_never_raises(text):
    raw = tokenize(text)  # not normalised: only "no exception, a list of strings"
    assert isinstance(raw, list) and all(isinstance(t, str) for t in raw)
    tokens = tokenize(normalize(text))
    assert isinstance(tokens, list) and all(isinstance(t, str) and t.strip() for t in tokens)


@SETTINGS
@given(title=st.one_of(TEXTS, st.none()), text=st.one_of(TEXTS, st.none()))
def test_route_rows_gives_one_row_per_message(tiny_model, title, text):
    frame = route_rows(tiny_model, [title], [text])
    assert len(frame) == 1
    assert list(frame.columns) == output_columns(tiny_model.labels)
    status = frame["route_status"].iloc[0]
    assert status == "ok" or status.startswith("error: ")
    if status == "ok":
        assert frame["department"].iloc[0] != "" and frame["screening"].iloc[0] != ""
