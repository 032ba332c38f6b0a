"""Real exports: title rows, several sheets, .xls, second header rows, hotline column names, markup junk, and
files with one flaw (a NUL byte, a line in another encoding, a repeated column name) route end to end, every row
kept in place."""

from __future__ import annotations

import csv
import datetime
import gzip
import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from classifier.batch import route_file
from classifier.cli import app
from classifier.errors import InputError
from classifier.io import estimate_rows, open_table, read_table
from classifier.text import is_markup_junk

TEXTS = [
    "小区物业乱收停车费，请住建局查处物业。",
    "公司拖欠工资三个月，请劳动监察讨薪。",
    "学校乱收补课费，请教育局处理。",
]
TITLE_ROW = "12345热线工单导出（2024年5月）"
HEADER = ["工单编号", "工单标题", "来电内容", "来电时间"]
DATA = [[f"GD{i:03d}", f"标题{i}", text, f"2024-05-0{i + 1} 09:30:00"] for i, text in enumerate(TEXTS)]


@pytest.fixture(autouse=True)
def chinese(monkeypatch):
    """Messages in Chinese whatever the locale of the machine running the tests."""
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def write_xls(path: Path, sheets: dict[str, list[list]]) -> Path:
    xlwt = pytest.importorskip("xlwt")
    workbook = xlwt.Workbook(encoding="utf-8")
    for name, rows in sheets.items():
        sheet = workbook.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    workbook.save(str(path))
    return path


def write(path: Path, rows: list[list]) -> Path:
    """``rows`` into a file of the format of ``path``'s name (one sheet for workbooks)."""
    if path.suffix == ".xlsx":
        return write_xlsx(path, {"工单": rows})
    if path.suffix == ".xls":
        return write_xls(path, {"工单": rows})
    path.write_bytes(csv_bytes([[("" if v is None else str(v)) for v in row] for row in rows]))
    return path


def routed(model, path: Path, tmp_path: Path, **options):
    out = tmp_path / "out.csv"
    summary = route_file(path, out, model, **options)
    return summary, read_table(out)[0]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".xls"])
def test_title_row_and_blank_rows_above_the_header(tiny_model, tmp_path, suffix):
    rows = [[TITLE_ROW, None, None, None], [None] * 4, [], HEADER, *DATA]
    summary, frame = routed(tiny_model, write(tmp_path / f"in{suffix}", rows), tmp_path)
    assert summary.rows == len(DATA) and list(frame.columns[:4]) == HEADER
    assert frame["来电内容"].tolist() == TEXTS and frame["工单编号"].tolist() == ["GD000", "GD001", "GD002"]
    assert frame["route_status"].eq("ok").all()
    table = open_table(tmp_path / f"in{suffix}")
    assert (table.header_row, table.text_col, table.title_col) == (4, "来电内容", "工单标题")
    assert "第 4 行" in table.describe() and "来电内容" in table.describe()


def test_title_row_in_a_csv_with_one_field(tiny_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(f"{TITLE_ROW}\r\n\r\n".encode() + csv_bytes([HEADER, *DATA]))
    summary, frame = routed(tiny_model, path, tmp_path)
    assert summary.rows == 3 and frame["来电内容"].tolist() == TEXTS and frame["route_status"].eq("ok").all()


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_the_sheet_with_the_text_column_is_read(tiny_model, tmp_path, suffix):
    sheets = {"说明": [["本表由热线系统导出"], ["导出人", "张三"]], "工单明细": [[TITLE_ROW], HEADER, *DATA]}
    path = (write_xlsx if suffix == ".xlsx" else write_xls)(tmp_path / f"in{suffix}", sheets)
    summary, frame = routed(tiny_model, path, tmp_path)
    assert frame["来电内容"].tolist() == TEXTS and summary.rows == 3
    assert "工单明细" in summary.source
    for sheet in ("工单明细", 2, "2"):
        assert open_table(path, sheet=sheet).sheet == "工单明细"
    with pytest.raises(InputError, match="没有找到正文列"):
        open_table(path, sheet="说明")
    with pytest.raises(InputError, match="没有工作表 'x'.*说明"):
        open_table(path, sheet="x")
    with pytest.raises(InputError, match="没有工作表 3"):
        open_table(path, sheet=3)


def test_sheet_is_refused_for_a_csv(tmp_path):
    with pytest.raises(InputError, match="不是 Excel 工作簿"):
        open_table(write(tmp_path / "in.csv", [HEADER, *DATA]), sheet=1)


def test_no_sheet_with_a_text_column_names_the_first_sheet(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", {"A": [["编号", "姓名"], ["1", "张三"]], "B": [["x", "y"]]})
    with pytest.raises(InputError, match=r"没有找到正文列（in.xlsx 的工作表“A”，共 2 个工作表）.*'编号', '姓名'"):
        open_table(path)


def test_xls_cells_numbers_and_dates(tiny_model, tmp_path):
    xlwt = pytest.importorskip("xlwt")
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("工单")
    for c, name in enumerate(["编号", "内容", "来电时间", "金额"]):
        sheet.write(0, c, name)
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")
    for r, text in enumerate(TEXTS, start=1):
        sheet.write(r, 0, 1000 + r)
        sheet.write(r, 1, text)
        sheet.write(r, 2, datetime.datetime(2024, 5, r, 9, 30), date_style)
        sheet.write(r, 3, 12.5)
    workbook.save(str(tmp_path / "in.xls"))
    summary, frame = routed(tiny_model, tmp_path / "in.xls", tmp_path)
    assert summary.rows == 3 and "工作表「工单」" in summary.source
    assert frame["内容"].tolist() == TEXTS and frame["编号"].tolist() == ["1001", "1002", "1003"]
    assert frame["来电时间"].tolist() == [f"2024-05-0{r} 09:30:00" for r in (1, 2, 3)]
    assert frame["金额"].tolist() == ["12.5"] * 3 and frame["route_status"].eq("ok").all()


def test_xls_name_on_an_xlsx_or_on_tab_separated_text(tiny_model, tmp_path):
    write_xlsx(tmp_path / "real.xls", {"工单": [HEADER, *DATA]})  # an .xlsx saved under an .xls name
    assert routed(tiny_model, tmp_path / "real.xls", tmp_path)[1]["来电内容"].tolist() == TEXTS
    (tmp_path / "text.xls").write_bytes(csv_bytes([HEADER, *DATA], encoding="gbk", delimiter="\t"))
    summary, frame = routed(tiny_model, tmp_path / "text.xls", tmp_path)
    assert frame["来电内容"].tolist() == TEXTS and any("TSV" in w for w in summary.warnings)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_second_header_row_is_skipped_and_reported(tiny_model, tmp_path, suffix):
    english = ["Ticket No.", "Title", "Content", "Time"]
    summary, frame = routed(tiny_model, write(tmp_path / f"in{suffix}", [HEADER, english, *DATA]), tmp_path)
    assert summary.rows == 3 and frame["来电内容"].tolist() == TEXTS
    assert "跳过第 2 行" in summary.source
    assert open_table(tmp_path / f"in{suffix}").second_header_rows == [2]


def test_sub_header_under_a_merged_header_gives_the_names(tiny_model, tmp_path):
    rows = [["工单编号", "诉求信息", None, "来电时间"], [None, "标题", "内容", None], *DATA]
    table = open_table(write(tmp_path / "in.xlsx", rows))
    assert table.columns == ["工单编号", "标题", "内容", "来电时间"] and table.header_row == 2
    assert (table.text_col, table.title_col) == ("内容", "标题")
    assert [len(c) for c in table.chunks()] == [3]


def test_a_data_row_under_the_header_is_not_a_second_header(tiny_model, tmp_path):
    rows = [["编号", "内容", "备注"], ["1", "", "电话"], ["2", TEXTS[0], "地址"]]  # names in a data row: kept
    summary, frame = routed(tiny_model, write(tmp_path / "in.csv", rows), tmp_path)
    assert frame["编号"].tolist() == ["1", "2"] and summary.rows == 2 and "第二表头" not in summary.source


@pytest.mark.parametrize("name", ["来电内容", "诉求描述", "问题描述", "反映内容", "工单内容"])
def test_hotline_text_column_names(tiny_model, tmp_path, name):
    path = write(tmp_path / "in.csv", [["工单编号", "受理时间", name], *[[f"{i}", "2024-05-01", t] for i, t in
                                                                  enumerate(TEXTS)]])  # fmt: skip
    summary, frame = routed(tiny_model, path, tmp_path)
    assert frame[name].tolist() == TEXTS and frame["route_status"].eq("ok").all() and name in summary.source


def test_describe_speaks_the_user_language(tmp_path, monkeypatch):
    path = write(tmp_path / "in.xlsx", [[TITLE_ROW], HEADER, *DATA])
    assert (
        open_table(path).describe()
        == "读取 in.xlsx：工作表「工单」，表头在第 2 行，正文列「来电内容」，标题列「工单标题」"
    )
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "en")
    assert open_table(path).describe() == (
        "reading in.xlsx: sheet '工单', header on row 2, text column '来电内容', title column '工单标题'"
    )


@pytest.mark.parametrize(
    ("text", "junk"),
    [(".cls{color:red}", True), ("<style>p{margin:0}</style>", True), ("<div class='x'></div>&nbsp;", True),
     ("body{font-size:12px}\n.x{color:#333}", True), ("<script>var a = 1;</script>", True),
     ("<p>小区电梯坏了</p>", False), ("小区物业{乱收费}", False), (".cls{color:red}楼道漏水", False),
     ("<b>Street light broken</b>", False), ("a < b", False), ("请处理 {急}", False)],
)  # fmt: skip
def test_is_markup_junk(text, junk):
    assert is_markup_junk(text) is junk


def test_markup_junk_rows_are_errors_not_routed(tiny_model, tmp_path):
    rows = [["id", "text"], ["1", TEXTS[0]], ["2", ".cls{color:red}"], ["3", "<style>.a{margin:0}</style>"],
            ["4", f"<p>{TEXTS[1]}</p>"]]  # fmt: skip
    summary, frame = routed(tiny_model, write(tmp_path / "in.csv", rows), tmp_path)
    assert summary.errors == 2
    assert frame["route_status"].tolist() == ["ok", "error: no readable text", "error: no readable text", "ok"]
    assert frame["department"].iloc[1] == "" and frame["text"].iloc[1] == ".cls{color:red}"


def test_nul_byte_in_a_cell_is_removed(tiny_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(
        csv_bytes([["id", "text"], ["1", TEXTS[0]], ["2", TEXTS[1]]]).replace("拖欠".encode(), "拖\x00欠".encode())
    )
    summary, frame = routed(tiny_model, path, tmp_path)
    assert frame["text"].tolist() == TEXTS[:2] and frame["route_status"].eq("ok").all()
    assert any("NUL" in w for w in summary.warnings)


def test_gbk_line_in_a_utf8_file_and_an_undecodable_line(tiny_model, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(
        csv_bytes([["id", "text"], ["1", TEXTS[0]]])
        + csv_bytes([["2", TEXTS[1]]], encoding="gbk")
        + b"3,\xff\xfe\xff broken\r\n"
        + csv_bytes([["4", TEXTS[2]]])
    )
    summary, frame = routed(tiny_model, path, tmp_path)
    assert frame["id"].tolist() == ["1", "2", "3", "4"] and frame["text"][[0, 1, 3]].tolist() == TEXTS
    status = frame["route_status"].tolist()
    assert status[:2] == ["ok", "ok"] and status[3] == "ok"
    assert status[2].startswith("error: undecodable line 4")
    assert any("GB18030" in w for w in summary.warnings) and any("3" in w for w in summary.warnings)
    with pytest.raises(InputError, match="undecodable line 4"):
        read_table(path)  # training data must be clean


def test_undecodable_jsonl_line_is_an_error_row(tiny_model, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        f'{{"text": "{TEXTS[0]}"}}\n'.encode() + b'{"text": "\xff\xfe"}\n' + f'{{"text": "{TEXTS[1]}"}}\n'.encode("gbk")
    )
    out = tmp_path / "out.jsonl"
    route_file(path, out, tiny_model)
    frame = read_table(out)[0]
    assert frame["route_status"].tolist()[0] == frame["route_status"].tolist()[2] == "ok"
    assert frame["route_status"][1] == "error: undecodable line 2 (neither UTF-8 nor GB18030)"
    assert frame["text"][2] == TEXTS[1]


def test_big5_file_is_read_as_big5(tiny_model, tmp_path):
    traditional = ["社區物業亂收停車費，請住建局查處物業。", "公司拖欠工資三個月，請勞動監察討薪。"] * 40
    path = tmp_path / "in.csv"
    path.write_bytes(csv_bytes([["id", "text"], *[[str(i), t] for i, t in enumerate(traditional)]], encoding="big5"))
    table = open_table(path)
    assert table.encoding == "big5hkscs" and "BIG5" in table.describe()
    assert read_table(path)[0]["text"].tolist() == traditional


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_duplicate_column_names_take_the_first_and_warn(tiny_model, tmp_path, suffix):
    rows = [["id", "text", "text", "备注", "备注"], ["1", TEXTS[0], "second", "a", "b"]]
    summary, frame = routed(tiny_model, write(tmp_path / f"in{suffix}", rows), tmp_path)
    assert list(frame.columns[:5]) == ["id", "text", "text_2", "备注", "备注_2"]
    assert frame["text"].tolist() == [TEXTS[0]] and frame["text_2"].tolist() == ["second"]
    assert frame["route_status"].tolist() == ["ok"] and len(summary.warnings) == 2
    assert "text_2" in summary.warnings[0]


def test_cli_routes_a_file_with_duplicate_columns(tiny_model_dir, tmp_path):
    path = write(tmp_path / "in.csv", [["id", "text", "text"], ["1", TEXTS[0], "x"]])
    result = CliRunner().invoke(
        app, ["route", str(path), "-o", str(tmp_path / "out.csv"), "--model", str(tiny_model_dir)]
    )
    assert result.exit_code == 0, result.output


def multiline_csv(path: Path, rows: int) -> Path:
    lines = [["id", "text"]] + [[str(i), f"{TEXTS[i % 3]}\n第二行\r\n第三行" if i % 2 else TEXTS[i % 3]]
                                for i in range(rows)]  # fmt: skip
    path.write_bytes(csv_bytes(lines))
    return path


def test_estimate_counts_records_not_lines(tmp_path):
    path = multiline_csv(tmp_path / "in.csv", 60_000)  # over 1 MiB: the estimate is extrapolated
    assert path.stat().st_size > 1 << 20
    estimate = estimate_rows(path)
    assert abs(estimate - 60_000) < 600, estimate  # counting lines would say about 120,000
    gz = tmp_path / "in.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert abs(estimate_rows(gz) - 60_000) < 1200
    small = multiline_csv(tmp_path / "small.csv", 100)
    assert estimate_rows(small) == 100
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(f'{{"text": "{TEXTS[i % 3]}{i}"}}\n\n' for i in range(40_000)), encoding="utf-8")
    assert abs(estimate_rows(jsonl) - 40_000) < 400  # blank lines do not count


def test_estimate_of_workbooks_and_title_rows(tmp_path):
    assert estimate_rows(write(tmp_path / "in.xlsx", [[TITLE_ROW], HEADER, *DATA])) == 3
    assert estimate_rows(write(tmp_path / "in.xls", [[TITLE_ROW], HEADER, *DATA])) == 3
    assert estimate_rows(write(tmp_path / "in.csv", [[TITLE_ROW], HEADER, *DATA])) == 3
    assert estimate_rows(tmp_path / "missing.csv") is None


def test_old_mac_line_breaks_also_after_a_line_in_another_encoding(tmp_path):
    """Lone CR line ends read the same in bulk and line by line (after a GBK line)."""
    body = csv_bytes([["id", "text"], *[[str(i), t] for i, t in enumerate(TEXTS)]]).replace(b"\r\n", b"\r")
    (tmp_path / "mac.csv").write_bytes(body)
    (tmp_path / "mixed.csv").write_bytes(body + b"9," + TEXTS[0].encode("gbk") + b"\r")
    assert read_table(tmp_path / "mac.csv")[0]["text"].tolist() == TEXTS
    assert read_table(tmp_path / "mixed.csv")[0]["text"].tolist() == [*TEXTS, TEXTS[0]]


def test_cli_says_which_sheet_and_columns_it_read(tiny_model_dir, tmp_path):
    import pandas as pd

    rows = [["说明"], ["导出时间 2024-05"]]
    data = [["工单编号", "来电内容"], ["1", "公司拖欠工资三个月"], ["2", "学校乱收费"]]
    source = write_xlsx(tmp_path / "export.xlsx", {"说明": rows, "工单": data})
    result = CliRunner().invoke(app, ["route", str(source), "-o", str(tmp_path / "o.csv"), "-m", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert "工单" in result.stderr and "来电内容" in result.stderr
    chosen = CliRunner().invoke(app, ["route", str(source), "-o", str(tmp_path / "p.csv"), "-m", str(tiny_model_dir),
                                      "--sheet", "2"])  # fmt: skip
    assert chosen.exit_code == 0 and len(pd.read_csv(tmp_path / "p.csv")) == 2
