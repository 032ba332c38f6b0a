"""dedup: near-duplicates of the known kinds are grouped, every row is kept, references name one row each."""

import numpy as np
import opencc
import pandas as pd
import pytest
from datasketch import MinHash
from typer.testing import CliRunner

from classifier.cli import app
from classifier.dedup import DEDUP_COLUMNS, dedup_file
from classifier.errors import InputError, UserError
from classifier.minhash import BandTable, MinHashParams, Signer, canonical, shingle_sets, similarity

runner = CliRunner()

BASE = "我们小区的电梯坏了一个多月，物业一直推脱不修。老人上下楼非常困难。请住建局督促物业尽快维修电梯！"
OTHER = "学校门口的道路坑洼不平，下雨天积水严重。学生上学很不方便，希望有关部门尽快修复这段道路。"
THIRD = "公司拖欠我们三个月工资，老板一直不发。请劳动监察大队帮助我们讨回血汗钱，谢谢。"
VARIANTS = {
    "punctuation": BASE.replace("，", ",").replace("。", "！").replace("！", "!"),
    "spacing_width": "  " + " ".join(BASE[:20]) + BASE[20:].replace("，", "， ") + "　",
    "script": opencc.OpenCC("s2t").convert(BASE),
    "added_sentence": "再次反映：" + BASE + "至今没有人处理！",
    "removed_sentence": BASE.replace("老人上下楼非常困难。", ""),
    "reordered": "老人上下楼非常困难。请住建局督促物业尽快维修电梯！我们小区的电梯坏了一个多月，物业一直推脱不修。",
}


def write(tmp_path, rows, name="in.csv", **columns):
    path = tmp_path / name
    pd.DataFrame(rows, **columns).to_csv(path, index=False)
    return path


def run(tmp_path, rows, **kwargs):
    source = write(tmp_path, rows)
    summary = dedup_file(source, tmp_path / "out.csv", **kwargs)
    return pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False), summary


def test_signatures_are_datasketch_minhashes():
    sets = shingle_sets([canonical(BASE), canonical(OTHER)])
    signer = Signer(MinHashParams())
    ours = signer.signatures(sets)
    for row, shingles in zip(ours, sets):
        reference = MinHash(num_perm=64, seed=1, hashfunc=int, scheme="affine32")
        reference.update_batch(shingles.tolist())
        assert np.array_equal(row, reference.hashvalues)


def test_canonical_text_ignores_width_script_punctuation_and_phone_masks():
    assert canonical("ＡＢＣ，電話：138****5678。") == canonical("abc 电话 13812345678")
    assert canonical("！!，") == ""


def test_similarity_is_overlap_with_a_minimum_of_shared_shingles():
    a, b, c = shingle_sets([canonical(BASE), canonical(VARIANTS["added_sentence"]), canonical("电梯坏了")])
    assert similarity(a, b) == 1.0
    assert similarity(a, c) == 0.0  # a short text inside a long one is not a repeat of it
    assert similarity(c, c) == 1.0


def test_band_table_keeps_the_first_row_of_a_key_across_merges():
    table = BandTable()
    table.add(np.array([5, 3], dtype=np.uint64), np.array([0, 1]))
    table.add(np.array([3, 9, 9], dtype=np.uint64), np.array([2, 3, 4]))
    table.add(np.array([1], dtype=np.uint64), np.array([5]))
    assert table.lookup(np.array([3, 9, 5, 1, 7], dtype=np.uint64)).tolist() == [1, 3, 0, 5, -1]
    assert len(table) == 4


def test_each_kind_of_near_duplicate_joins_its_original(tmp_path):
    rows = [{"id": "base", "time": "2019-03-01 09:00", "text": BASE}]
    rows += [{"id": kind, "time": f"2019-03-{i + 2:02d} 09:00", "text": text} for i, (kind, text) in
             enumerate(VARIANTS.items())]  # fmt: skip
    rows += [{"id": "phone-a", "time": "2019-04-01", "text": OTHER + "联系电话13912345678"},
             {"id": "phone-b", "time": "2019-04-02", "text": OTHER + "联系电话139****5678"},
             {"id": "other", "time": "2019-04-03", "text": THIRD}]  # fmt: skip
    out, summary = run(tmp_path, rows)
    assert out["id"].tolist() == [r["id"] for r in rows]
    assert list(out.columns[-4:]) == list(DEDUP_COLUMNS)
    by_id = out.set_index("id")
    for kind in VARIANTS:
        assert by_id.loc[kind, "duplicate_of"] == "base", kind
        assert float(by_id.loc[kind, "similarity"]) >= 0.8
    assert by_id.loc["base", "duplicate_of"] == "" and by_id.loc["base", "duplicate_group"] == "base"
    assert by_id.loc["phone-b", "duplicate_of"] == "phone-a"
    assert by_id.loc["other", "duplicate_of"] == "" and by_id.loc["other", "similarity"] == ""
    assert summary.groups == 2 and summary.duplicates == len(VARIANTS) + 1


def test_earliest_by_time_then_input_order(tmp_path):
    rows = [{"id": "late", "time": "2019-05-02", "text": BASE}, {"id": "early", "time": "2019-05-01", "text": BASE},
            {"id": "same-a", "time": "2019-06-01", "text": OTHER}, {"id": "same-b", "time": "2019-06-01", "text": OTHER}]  # fmt: skip
    out, _ = run(tmp_path, rows)
    assert out["duplicate_of"].tolist() == ["early", "", "", "same-a"]


def test_groups_do_not_depend_on_chunk_size(tmp_path):
    rows = [{"id": f"r{i}", "time": f"2019-01-{i % 28 + 1:02d}", "text": text}
            for i, text in enumerate([BASE, OTHER, *VARIANTS.values(), THIRD, OTHER + "再次反映。", THIRD])]  # fmt: skip
    source = write(tmp_path, rows)
    dedup_file(source, tmp_path / "a.csv")
    dedup_file(source, tmp_path / "b.csv", chunk_size=2)
    a, b = (pd.read_csv(tmp_path / n, dtype=str, keep_default_na=False) for n in ("a.csv", "b.csv"))
    assert a["duplicate_group"].tolist() == b["duplicate_group"].tolist()


def test_empty_texts_and_unreadable_rows_are_kept(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"id,text\nr1,{BASE}\nr2,\nr3,{BASE},extra,cells\nr4,{BASE}\n", encoding="utf-8")
    dedup_file(path, tmp_path / "out.csv")
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out["id"].tolist() == ["r1", "r2", "r3", "r4"]
    assert out["dedup_status"].tolist()[:2] == ["ok", "empty text"] and out["dedup_status"][2].startswith("error: ")
    assert out["duplicate_of"].tolist() == ["", "", "", "r1"]


def test_single_row_and_header_only(tmp_path):
    out, summary = run(tmp_path, [{"id": "only", "text": BASE}])
    assert out["duplicate_group"].tolist() == ["only"] and summary.groups == 0
    header = tmp_path / "header.csv"
    header.write_text("id,text\n", encoding="utf-8")
    summary = dedup_file(header, tmp_path / "empty_out.csv")
    assert summary.rows == 0
    assert list(pd.read_csv(tmp_path / "empty_out.csv").columns) == ["id", "text", *DEDUP_COLUMNS]


def test_no_time_column_uses_file_order_and_says_so(tmp_path):
    out, summary = run(tmp_path, [{"编号": "a", "留言详情": OTHER}, {"编号": "b", "留言详情": OTHER}])
    assert out["duplicate_of"].tolist() == ["", "a"]
    assert summary.time_column is None and any("时间" in w or "time" in w for w in summary.warnings)


def test_unparseable_times_are_kept_and_reported(tmp_path):
    rows = [{"id": "x", "time": "not a time", "text": BASE}, {"id": "y", "time": "2019年3月1日 10时", "text": BASE}]
    out, summary = run(tmp_path, rows)
    assert out["duplicate_of"].tolist() == ["y", ""]  # a row without a usable time sorts after the timed ones
    assert summary.unparseable_times == 1


def test_duplicate_ids_are_referenced_with_their_row(tmp_path):
    rows = [{"id": "same", "text": BASE}, {"id": "same", "text": BASE}, {"id": "", "text": OTHER},
            {"id": "z", "text": OTHER}]  # fmt: skip
    out, summary = run(tmp_path, rows)
    assert out["duplicate_group"].tolist() == ["same#1", "same#1", "#3", "#3"]
    assert out["duplicate_of"].tolist() == ["", "same#1", "", "#3"]
    assert summary.ambiguous_ids == 3


def test_rejects_bad_threshold_and_same_output(tmp_path):
    source = write(tmp_path, [{"id": "a", "text": BASE}])
    with pytest.raises(UserError):
        dedup_file(source, tmp_path / "out.csv", threshold=1.5)
    with pytest.raises(InputError):
        dedup_file(source, source)


def test_cli_dedup(tmp_path):
    source = write(tmp_path, [{"留言编号": "a", "留言详情": BASE}, {"留言编号": "b", "留言详情": VARIANTS["script"]}])
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["dedup", str(source), "-o", str(out), "--threshold", "0.9"])
    assert result.exit_code == 0, result.output
    assert '"duplicate_of": "a"' in out.read_text(encoding="utf-8")
    result = runner.invoke(app, ["dedup", str(tmp_path / "missing.csv"), "-o", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output


JUNK = ".cls{color:red} <div></div>&nbsp;"


def test_markup_junk_is_not_readable_text_as_in_route(tmp_path):
    """Rows route cannot read (HTML/CSS remnants, only symbols) get route's reason and are never grouped."""
    from classifier.router import check_text

    rows = [{"id": "r1", "text": BASE}, {"id": "j1", "text": JUNK}, {"id": "j2", "text": JUNK},
            {"id": "s1", "text": "？？？！！！……"}, {"id": "r2", "text": VARIANTS["punctuation"]}]  # fmt: skip
    out, summary = run(tmp_path, rows)
    assert out["dedup_status"].tolist() == [
        "ok", f"error: {check_text('', JUNK)}", "error: no readable text",
        f"error: {check_text('', '？？？！！！……')}", "ok",
    ]  # fmt: skip
    assert out["duplicate_of"].tolist() == ["", "", "", "", "r1"] and out["duplicate_group"][2] == "j2"
    assert summary.unreadable_texts == 3 and summary.read_errors == 0 and summary.groups == 1
    result = runner.invoke(app, ["dedup", str(write(tmp_path, rows)), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0 and "3 rows have no readable text" in result.output
