"""Parquet files and datasets (a folder or a glob of files) in, Parquet files and datasets out.

Column detection, error rows and no-row-lost hold as for single files; bad datasets (columns that disagree, a
corrupt file) fail with one line naming the file and nothing written; an empty partition is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import tiny_frame
from typer.testing import CliRunner

from classifier.batch import route_file
from classifier.cli import app
from classifier.errors import InputError
from classifier.io import TableWriter, open_table, read_table

GOOD = "小区物业乱收停车费，请住建局查处物业。"


def messages(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"M{i:04d}" for i in range(start, start + n)], "title": ["停车费"] * n,
                         "text": [f"{GOOD}第{i}次反映。" for i in range(start, start + n)]})  # fmt: skip


def dataset(folder: Path) -> Path:
    """A folder of two Parquet files and one CSV file, 30 rows in all (ids M0000 … M0029 in file order)."""
    folder.mkdir()
    messages(10).to_parquet(folder / "a.parquet", index=False)
    messages(12, 10).to_parquet(folder / "b.parquet", index=False, row_group_size=5)
    messages(8, 22).to_csv(folder / "c.csv", index=False)
    return folder


def route(model_dir: Path, *args: str | Path):
    return CliRunner().invoke(app, ["route", *map(str, args), "--model", str(model_dir)])


def test_parquet_file_is_read_in_batches_as_text(tmp_path):
    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "score": [1.5, None, 12.0], "text": [GOOD, None, "x"],
                      "tags": [["a"], [], None]})  # fmt: skip
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=2)
    opened = open_table(tmp_path / "in.parquet")
    assert (opened.text_col, opened.estimate_rows()) == ("text", 3)
    chunks = list(opened.chunks(2))
    assert [len(c) for c in chunks] == [2, 1]
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    assert frame.to_dict("list") == {"id": ["1", "2", "3"], "score": ["1.5", "", "12"], "text": [GOOD, "", "x"],
                                     "tags": ['["a"]', "[]", ""]}  # fmt: skip


def test_route_parquet_file_to_csv_keeps_every_row(tiny_model_dir, tmp_path):
    frame = messages(5)
    frame.loc[2, "text"] = None
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    result = route(tiny_model_dir, tmp_path / "in.parquet", "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out["id"].tolist() == frame["id"].tolist()
    assert out["route_status"].tolist() == ["ok", "ok", "error: empty text", "ok", "ok"]


def test_folder_dataset_to_parquet_dataset(tiny_model_dir, tmp_path):
    source = dataset(tmp_path / "in")
    summary = route_file(source, tmp_path / "out", tiny_model_dir, chunk_size=7)
    out = tmp_path / "out"
    assert summary.rows == 30 and out.is_dir()
    parts = sorted(p.name for p in out.iterdir())
    assert parts == [f"part-{i:05d}.parquet" for i in range(len(parts))] and len(parts) >= 3
    routed = pd.read_parquet(out)
    assert routed["id"].tolist() == [f"M{i:04d}" for i in range(30)]
    assert set(routed["route_status"]) == {"ok"}
    assert all(pa.types.is_string(f.type) for f in pq.read_schema(out / parts[0]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no temporary folder left


def test_rerun_replaces_the_dataset_and_trailing_slash_is_a_dataset(tiny_model_dir, tmp_path):
    source = dataset(tmp_path / "in")
    route_file(source, tmp_path / "out", tiny_model_dir, chunk_size=5)
    route_file(source, f"{tmp_path / 'out'}/", tiny_model_dir, chunk_size=100)
    assert len(list((tmp_path / "out").iterdir())) == 3  # one file per chunk; the 7 files of the first run are gone
    assert len(pd.read_parquet(tmp_path / "out")) == 30


def test_glob_and_parquet_file_output(tiny_model_dir, tmp_path):
    dataset(tmp_path / "in")
    summary = route_file(f"{tmp_path}/in/*.parquet", tmp_path / "out.parquet", tiny_model_dir)
    assert summary.rows == 22
    assert pd.read_parquet(tmp_path / "out.parquet")["id"].tolist() == [f"M{i:04d}" for i in range(22)]


def test_error_rows_of_a_csv_partition_are_kept(tiny_model_dir, tmp_path):
    source = dataset(tmp_path / "in")
    (source / "d.csv").write_text(f"id,title,text\nX1,t,{GOOD}\nX2,t,{GOOD},extra,fields\nX3,t,{GOOD}\n", "utf-8")
    route_file(source, tmp_path / "out", tiny_model_dir)
    out = pd.read_parquet(tmp_path / "out")
    assert len(out) == 33 and out["id"].tolist()[-3:] == ["X1", "X2", "X3"]
    assert out["route_status"].tolist()[-3:-1] == ["ok", "error: line 3 has 5 fields, the header has 3"]


def test_evaluate_reads_a_parquet_dataset(tiny_model_dir, tmp_path):
    (tmp_path / "labelled").mkdir()
    frame = tiny_frame()
    frame.iloc[:8].to_parquet(tmp_path / "labelled" / "a.parquet", index=False)
    frame.iloc[8:].to_parquet(tmp_path / "labelled" / "b.parquet", index=False)
    result = CliRunner().invoke(app, ["evaluate", "--data", str(tmp_path / "labelled"), "--model",
                                      str(tiny_model_dir), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f'"n": {len(frame)}' in result.output


def test_replies_reads_parquet_and_writes_a_dataset(tmp_path):
    from classifier.replies.files import check_replies

    frame = pd.read_csv(Path(__file__).parent.parent / "data" / "reply_quality_sample.csv", dtype=str).head(6)
    frame["department"] = "教育局"
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    summary = check_replies(tmp_path / "in.parquet", tmp_path / "out")
    assert summary.rows == 6
    assert pd.read_parquet(tmp_path / "out")["id"].tolist() == frame["id"].tolist()


def test_partitions_with_other_columns_fail_naming_the_file(tiny_model_dir, tmp_path):
    source = dataset(tmp_path / "in")
    messages(3).assign(phone="123").to_parquet(source / "b2.parquet", index=False)
    result = route(tiny_model_dir, source, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "b2.parquet" in result.output and "same columns" in result.output and "'phone'" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_empty_partitions_are_skipped(tiny_model_dir, tmp_path):
    source = dataset(tmp_path / "in")
    messages(0).to_parquet(source / "a0.parquet", index=False)
    (source / "e.csv").write_bytes(b"")
    (source / "_SUCCESS").write_bytes(b"")
    summary = route_file(source, tmp_path / "out", tiny_model_dir)
    assert summary.rows == 30 and any("2 empty files" in w for w in summary.warnings)
    assert len(pd.read_parquet(tmp_path / "out")) == 30


@pytest.mark.parametrize("inside", [False, True])
def test_corrupt_parquet_fails_naming_it_and_writes_nothing(tiny_model_dir, tmp_path, inside):
    source = dataset(tmp_path / "in") if inside else tmp_path
    good = (source / "a.parquet").read_bytes() if inside else b"PAR1" + b"\0" * 100
    (source / "z_bad.parquet").write_bytes(good[: len(good) // 2] + b"garbage" * 10)
    target = source if inside else source / "z_bad.parquet"
    result = route(tiny_model_dir, target, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "z_bad.parquet" in result.output and "Parquet" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_output_folder_with_other_files_is_refused(tiny_model_dir, tmp_path):
    source = dataset(tmp_path / "in")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("keep", "utf-8")
    with pytest.raises(InputError, match="holds other files"):
        route_file(source, tmp_path / "out", tiny_model_dir)
    assert (tmp_path / "out" / "notes.txt").read_text("utf-8") == "keep"


def test_dataset_writer_abort_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), TableWriter(tmp_path / "out") as writer:
        writer.write(messages(2))
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_read_table_of_a_dataset(tmp_path):
    frame, table = read_table(dataset(tmp_path / "in"))
    assert len(frame) == 30 and table.partitions and table.text_col == "text"


def test_dedup_reads_a_dataset_and_writes_a_dataset(tmp_path):
    from classifier.dedup import dedup_file

    source = dataset(tmp_path / "in")
    summary = dedup_file(source, tmp_path / "out")
    out = pd.read_parquet(tmp_path / "out")
    assert summary.rows == 30 and out["id"].tolist() == [f"M{i:04d}" for i in range(30)]
    assert "duplicate_group" in out.columns
