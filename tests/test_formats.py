"""Formats, encodings and columns: every supported input format routes into every output format, row for row."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import stat

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from classifier.cli import app
from classifier.io import read_table

GOOD = "小区物业乱收停车费，请住建局查处物业。"
ROWS = [
    {"id": "1", "title": "物业", "text": GOOD, "extra": "keep me"},
    {"id": "2", "title": "", "text": 'He said "讨薪", then, left\n第二行，拖欠工资', "extra": ""},
    {"id": "2", "title": "学校", "text": "学校乱收补课费,请教育局处理", "extra": "dup id"},
    {"id": "4", "title": "", "text": "", "extra": "empty"},
    {"id": "5", "title": "", "text": "=SUM(A1:A3) 村支书贪污扶贫款", "extra": "0012"},
]
FORMATS = ["csv", "tsv", "xlsx", "jsonl", "csv.gz", "tsv.gz", "jsonl.gz"]


def route(model_dir, *args):
    return CliRunner().invoke(app, ["route", *map(str, args), "--model", str(model_dir)])


def write_table(path, rows, *, encoding="utf-8", newline="\n"):
    """``rows`` (dicts) into ``path``, the format from its name."""
    name = path.name.removesuffix(".gz")
    columns = list(rows[0])
    if name.endswith(".xlsx"):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(columns)
        for row in rows:
            sheet.append([row[c] for c in columns])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # a text, not a formula
        workbook.save(path)
        return path
    if name.endswith(".jsonl"):
        body = "".join(json.dumps(row, ensure_ascii=False) + newline for row in rows)
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="\t" if name.endswith(".tsv") else ",", lineterminator=newline)
        writer.writerow(columns)
        writer.writerows([row[c] for c in columns] for row in rows)
        body = buffer.getvalue()
    data = body.encode(encoding)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def read_output(path) -> pd.DataFrame:
    return read_table(path, text_col="text")[0].fillna("")


@pytest.mark.parametrize("source", FORMATS, ids=lambda f: f"from-{f}")
@pytest.mark.parametrize("target", FORMATS, ids=lambda f: f"to-{f}")
def test_every_format_into_every_format(tiny_model_dir, tmp_path, source, target):
    path = write_table(tmp_path / f"in.{source}", ROWS)
    out = tmp_path / f"out.{target}"
    result = route(tiny_model_dir, path, "-o", out)
    assert result.exit_code == 0, result.output
    frame = read_output(out)
    assert frame["id"].tolist() == [r["id"] for r in ROWS]
    assert frame["text"].tolist() == [r["text"] for r in ROWS]
    assert frame["extra"].tolist() == [r["extra"] for r in ROWS]
    assert frame["route_status"].tolist() == ["ok", "ok", "ok", "error: empty text", "ok"]
    assert list(frame.columns[:4]) == ["id", "title", "text", "extra"]
    if target.endswith(".gz"):
        assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({path.name, out.name})


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_encodings_and_line_endings(tiny_model_dir, tmp_path, encoding, newline):
    rows = [dict(r) for r in ROWS]
    if encoding != "gbk":
        rows[0]["extra"] = "𠀀 € ㈱"  # outside GBK
    path = write_table(tmp_path / "in.csv", rows, encoding=encoding, newline=newline)
    out = tmp_path / "out.csv"
    result = route(tiny_model_dir, path, "-o", out)
    assert result.exit_code == 0, result.output
    frame = read_output(out)
    assert frame["extra"].tolist() == [r["extra"] for r in rows]
    assert frame["id"].tolist() == [r["id"] for r in rows]
    assert frame["text"].tolist() == [r["text"] for r in rows]  # a line break inside quotes is kept as written
    assert "\ufeff" not in frame.columns[0]


def test_gbk_after_a_long_ascii_start(tiny_model_dir, tmp_path):
    """The encoding is not decided on an all-ASCII first MiB."""
    ascii_rows = [{"id": str(i), "text": "x" * 1000} for i in range(1100)]
    rows = ascii_rows + [{"id": "last", "text": GOOD}]
    path = write_table(tmp_path / "in.csv", rows, encoding="gbk")
    assert path.stat().st_size > 1 << 20
    out = tmp_path / "out.csv"
    result = route(tiny_model_dir, path, "-o", out)
    assert result.exit_code == 0, result.output
    frame = read_output(out)
    assert len(frame) == len(rows) and frame["text"].iloc[-1] == GOOD and frame["route_status"].iloc[-1] == "ok"


def test_quoted_fields_survive_a_round_trip(tiny_model_dir, tmp_path):
    nasty = ['a,b', 'say "hi"', 'line1\nline2', 'line1\r\nline2', '""', '"', ',', "\t", "trailing space "]
    rows = [{"id": str(i), "text": f"{GOOD}{s}", "note": s} for i, s in enumerate(nasty)]
    for target in ("csv", "tsv", "jsonl", "xlsx"):
        out = tmp_path / f"out.{target}"
        assert route(tiny_model_dir, write_table(tmp_path / "in.csv", rows), "-o", out).exit_code == 0
        frame = read_output(out)
        expected = [r["note"] for r in rows]
        if target == "xlsx":  # XML turns CR LF inside a cell into LF
            expected = [n.replace("\r\n", "\n") for n in expected]
        assert frame["note"].tolist() == expected, target
        assert frame["route_status"].eq("ok").all()


def test_duplicate_ids_are_all_kept(tiny_model_dir, tmp_path):
    rows = [{"id": "same", "text": f"{GOOD}{i}"} for i in range(5)]
    out = tmp_path / "out.csv"
    assert route(tiny_model_dir, write_table(tmp_path / "in.csv", rows), "-o", out).exit_code == 0
    frame = read_output(out)
    assert frame["id"].tolist() == ["same"] * 5 and frame["text"].tolist() == [r["text"] for r in rows]


def test_clashing_input_columns_are_renamed(tiny_model_dir, tmp_path):
    rows = [
        {"id": "1", "text": GOOD, "department": "教育局", "department_input": "older", "route_status": "x", "urgent": "是"},
        {"id": "2", "text": "", "department": "人社局", "department_input": "", "route_status": "", "urgent": ""},
    ]
    out = tmp_path / "out.csv"
    result = route(tiny_model_dir, write_table(tmp_path / "in.csv", rows), "-o", out, "--chunk-size", "1")
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8-sig", newline="") as handle:
        header, *body = list(csv.reader(handle))
    assert len(header) == len(set(header))
    assert all(len(line) == len(header) for line in body)
    frame = read_output(out)
    assert frame["department_input_2"].tolist() == ["教育局", "人社局"]
    assert frame["department_input"].tolist() == ["older", ""]
    assert frame["route_status_input"].tolist() == ["x", ""]
    assert frame["urgent_input"].tolist() == ["是", ""]
    assert frame["route_status"].tolist() == ["ok", "error: empty text"]
    assert frame["department"].iloc[0] != "" and frame["department"].iloc[1] == ""


def test_every_chunk_has_the_header_columns(tiny_model_dir, tmp_path):
    """A chunk with no routable row has the model's extra head columns too (no shifted CSV cells)."""
    rows = [{"id": str(i), "text": "" if i < 4 else GOOD} for i in range(8)]
    for target in ("csv", "jsonl"):
        out = tmp_path / f"out.{target}"
        result = route(tiny_model_dir, write_table(tmp_path / "in.csv", rows), "-o", out, "--chunk-size", "2")
        assert result.exit_code == 0, result.output
        if target == "csv":
            with open(out, encoding="utf-8-sig", newline="") as handle:
                lines = list(csv.reader(handle))
            assert {len(line) for line in lines} == {len(lines[0])}
            assert lines[1][lines[0].index("model_version")] == lines[-1][lines[0].index("model_version")]
        else:
            keys = [tuple(json.loads(line)) for line in out.read_text(encoding="utf-8").splitlines()]
            assert len(set(keys)) == 1


def test_xlsx_output_keeps_text_that_looks_like_a_formula(tiny_model_dir, tmp_path):
    rows = [{"id": "1", "text": "=HYPERLINK(\"x\") 物业乱收费"}, {"id": "2", "text": "=1+1"}]
    out = tmp_path / "out.xlsx"
    assert route(tiny_model_dir, write_table(tmp_path / "in.csv", rows), "-o", out).exit_code == 0
    sheet = load_workbook(out, read_only=True, data_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert [v[1] for v in values[1:]] == [r["text"] for r in rows]


def test_output_file_gets_ordinary_permissions(tiny_model_dir, tmp_path):
    out = tmp_path / "out.csv"
    assert route(tiny_model_dir, write_table(tmp_path / "in.csv", ROWS), "-o", out).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask


def test_existing_output_is_replaced(tiny_model_dir, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("old content\n", encoding="utf-8")
    assert route(tiny_model_dir, write_table(tmp_path / "in.csv", ROWS), "-o", out).exit_code == 0
    assert len(read_output(out)) == len(ROWS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_jsonl_lines_split_only_on_newline(tiny_model_dir, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"id": "1", "text": "\\u7269\\u4e1a\\u4e71\\u6536\\u8d39\\r"}\r\n'
        + json.dumps({"id": "2", "text": GOOD + "\u2028x"}, ensure_ascii=False).encode()
        + b"\n"
    )
    out = tmp_path / "out.jsonl"
    assert route(tiny_model_dir, path, "-o", out).exit_code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert [r["id"] for r in rows] == ["1", "2"] and [r["route_status"] for r in rows] == ["ok", "ok"]
    assert rows[1]["text"] == GOOD + "\u2028x"
