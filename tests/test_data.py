import pytest

from classifier.data import SCHEMA, load_bundled, load_messages, message_docs, training_frame
from classifier.errors import InputError


def test_bundled_sets_read_into_the_message_schema():
    for name, rows in [("routing", 12503), ("topic", 5981), ("titles", 7229), ("unlabelled", 6616), ("sample", 200)]:
        frame = load_bundled(name)
        assert list(frame.columns[: len(SCHEMA)]) == list(SCHEMA) and len(frame) == rows, name
    assert load_bundled("sample")["text"].str.len().min() > 0


def test_training_frame_has_one_row_per_message_with_all_its_labels():
    frame = training_frame()
    messages = frame[frame["id"].str.startswith(("R", "T", "X"))]
    assert messages["id"].is_unique
    routed = frame[frame["department"] != ""]
    assert len(routed) == 12503 and (routed["topic"] != "").sum() == 5981
    assert (frame["title"] != "").sum() >= 7229


def test_malformed_jsonl_is_an_error_for_training_data(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "路灯不亮", "department": "城市管理和综合执法局"}\n{not json}\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        load_messages(path)


def test_message_docs_are_normalised_title_and_text():
    frame = load_bundled("routing").head(3)
    docs = message_docs(frame)
    assert len(docs) == 3 and all("，" not in d for d in docs)
