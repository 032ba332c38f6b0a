"""`complaint-router route` on unusable files, bad rows, bad output paths and broken model folders.

An unusable input or output is exit code 2 with one line on stderr (what was expected, what was found), no
traceback, and nothing written; a bad row is kept in place with ``route_status`` = ``error: <reason>``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from classifier.cli import app

GOOD = "小区物业乱收停车费，请住建局查处物业。"


def route(model_dir: Path, *args: str | Path):
    return CliRunner().invoke(app, ["route", *map(str, args), "--model", str(model_dir)])


def assert_clean_failure(result, folder: Path, keep: set[str], *expected: str) -> None:
    """Exit 2, one line on stderr holding ``expected``, no traceback, no output and no temporary file."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    stderr = result.stderr.strip()
    assert stderr.startswith("Error: ") and "\n" not in stderr, stderr
    assert "Traceback" not in result.output
    for text in expected:
        assert text in stderr, (text, stderr)
    assert {p.name for p in folder.iterdir()} == keep


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)  # long texts
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def corrupt_xlsx(path: Path) -> bytes:
    workbook = Workbook()
    workbook.active.append(["id", "text"])
    workbook.active.append(["1", GOOD])
    workbook.save(path)
    return path.read_bytes()


# name -> (file content or None for a missing file, words the one-line error must hold)
UNUSABLE = {
    "missing.csv": (None, ["not found", "missing.csv"]),
    "empty.csv": (b"", ["empty", "0 bytes", "expected"]),
    "blank.csv": (b"\n \n\r\n", ["no data", "expected"]),
    "junk.csv": (bytes(range(256)) * 40, ["binary", "expected"]),
    "png.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), ["binary"]),
    "utf16.csv": ("id,text\n1,小区物业乱收费\n".encode("utf-16"), ["UTF-16", "expected", "UTF-8"]),
    "utf16_nobom.csv": ("id,text\n1,小区物业乱收费\n".encode("utf-16-le"), ["UTF-16", "expected"]),
    "high_bytes.csv": (b"id,text\n1," + bytes([0xFF, 0x80, 0xFE, 0x80] * 50), ["Cannot decode", "expected", "found"]),
    "no_text_col.csv": (b"id,name,phone\n1,a,b\n", ["No text column", "expected", "'id', 'name', 'phone'"]),
    "no_text_col.jsonl": (b'{"id": 1, "name": "x"}\n', ["No text column", "'id', 'name'"]),
    "no_objects.jsonl": (b"[1, 2]\n\"text\"\nnot json\n", ["No JSON object", "expected one JSON object per line"]),
    "not_gzip.csv.gz": (b"id,text\n1,hello\n", ["gzip-compressed", "Not a gzipped file"]),
    "truncated.csv.gz": (gzip.compress("id,text\n".encode() + GOOD.encode() * 5000)[:300], ["gzip"]),
    "not_zip.xlsx": (b"id,text\n1,hello\n", ["Excel", "expected", "found"]),
    "unterminated.csv": (f'id,text\n1,"{GOOD}\n2,{GOOD}\n'.encode(), ["quote", "line 2", "never closed"]),
    "report.pdf": (b"%PDF-1.4 junk", ["Unsupported file type", "report.pdf", "expected one of", ".csv"]),
    "table.xls": (b"\xd0\xcf\x11\xe0 junk", ["Cannot open table.xls", "Excel", ".xls"]),
    "web.xls": (b"<html><table><tr><td>x</td></tr></table></html>", ["web.xls", "expected", "found a web page"]),
    "noext": (b"id,text\n1,hello\n", ["Unsupported file type"]),
}


@pytest.mark.parametrize("name", sorted(UNUSABLE))
def test_unusable_input_is_exit_2_with_one_line(tiny_model_dir, tmp_path, name):
    content, expected = UNUSABLE[name]
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    keep = {name} if content is not None else set()
    result = route(tiny_model_dir, path, "-o", tmp_path / "out.csv")
    assert_clean_failure(result, tmp_path, keep, *expected)


@pytest.mark.parametrize("damage", ["not_a_zip", "truncated", "no_workbook", "garbage_sheet"])
def test_corrupt_xlsx_is_exit_2(tiny_model_dir, tmp_path, damage):
    path = tmp_path / "in.xlsx"
    good = corrupt_xlsx(path)
    if damage == "not_a_zip":
        path.write_bytes(b"PK\x03\x04" + good[4:200])
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "no_workbook":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "not a workbook")
    else:
        with zipfile.ZipFile(tmp_path / "src.xlsx", "w") as out, zipfile.ZipFile(io.BytesIO(good)) as src:
            for item in src.infolist():
                body = b"<worksheet><sheetData><row" if item.filename.endswith("sheet1.xml") else src.read(item)
                out.writestr(item, body)
        os.replace(tmp_path / "src.xlsx", path)
    result = route(tiny_model_dir, path, "-o", tmp_path / "out.csv")
    assert_clean_failure(result, tmp_path, {"in.xlsx"}, "in.xlsx", "Excel")


def test_input_folder_is_exit_2(tiny_model_dir, tmp_path):
    (tmp_path / "folder.csv").mkdir()
    result = route(tiny_model_dir, tmp_path / "folder.csv", "-o", tmp_path / "out.csv")
    assert_clean_failure(result, tmp_path, {"folder.csv"}, "folder", "expected a table file")


def test_encoding_change_mid_file_reads_the_line_in_the_other_encoding(tiny_model_dir, tmp_path):
    """A GBK line after more than 1 MiB of UTF-8 (rejected with exit 2 before) is read as GB18030, with a note."""
    digits = "１２３４５６７８９０" * 4000  # full-width digits: UTF-8 that is not routed (cheap)
    utf8 = "".join(f"{i},{digits}\n" for i in range(12)).encode("utf-8")  # over 1 MiB of UTF-8 …
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"id,text\n" + utf8 + f"x,{GOOD}\n".encode("gbk"))  # … then a GBK line
    result = route(tiny_model_dir, path, "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "out.csv")
    assert len(rows) == 13 and rows[-1]["id"] == "x" and rows[-1]["text"] == GOOD
    assert rows[-1]["route_status"] == "ok"


@pytest.mark.parametrize("suffix", ["csv", "tsv", "xlsx", "csv.gz"])
def test_header_only_gives_header_and_no_rows(tiny_model_dir, tmp_path, suffix):
    path = tmp_path / f"in.{suffix}"
    if suffix == "xlsx":
        workbook = Workbook()
        workbook.active.append(["id", "title", "text"])
        workbook.save(path)
    else:
        sep = "\t" if suffix == "tsv" else ","
        body = sep.join(["id", "title", "text"]).encode()  # no final newline
        path.write_bytes(gzip.compress(body) if suffix.endswith(".gz") else body)
    out = tmp_path / "out.csv"
    result = route(tiny_model_dir, path, "-o", out)
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1
    header = lines[0].split(",")
    assert header[:3] == ["id", "title", "text"] and "route_status" in header and "department" in header
    assert "0 rows" in result.stderr


def test_header_only_has_the_columns_of_a_routed_file(tiny_model_dir, tmp_path):
    write_csv(tmp_path / "empty.csv", [["id", "text"]])
    write_csv(tmp_path / "full.csv", [["id", "text"], ["1", GOOD]])
    for name in ("empty", "full"):
        assert route(tiny_model_dir, tmp_path / f"{name}.csv", "-o", tmp_path / f"{name}_out.csv").exit_code == 0
    first = [(tmp_path / f"{n}_out.csv").read_text(encoding="utf-8-sig").splitlines()[0] for n in ("empty", "full")]
    assert first[0] == first[1]


def test_bad_rows_are_kept_in_place_with_a_reason(tiny_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(
        "id,title,text\n"
        f"1,,{GOOD}\n"
        "2,,\n"
        "3,,   \t  \n"
        "4,only a title\n"  # missing text cell
        "5,,12345\n"
        "6,,!!!\n"
        "7,,……，。！\n"
        "\n"  # a blank line in the middle is an empty row
        f"9,,{GOOD}\n"
        f"10,,{GOOD},surplus\n"  # more fields than the header
        f"11,,{GOOD}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    result = route(tiny_model_dir, path, "-o", out, "--chunk-size", "3")
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5", "6", "7", "", "9", "10", "11"]
    status = [r["route_status"] for r in rows]
    assert status[0] == status[8] == status[10] == "ok"
    for i in (1, 2, 3, 7):
        assert status[i] in ("error: empty text", "error: missing text"), status[i]
    for i in (4, 5, 6):
        assert status[i].startswith("error: no text"), status[i]
    assert status[9].startswith("error: ") and "line 11" in status[9] and "fields" in status[9]
    assert rows[9]["text"] == GOOD and rows[9]["department"] == ""
    assert all(rows[i]["needs_review"] == "True" for i in range(1, 10))  # every row not routed goes to a person
    assert rows[2]["text"] == "   \t  "
    assert all(rows[i]["department"] == "" and rows[i]["screening"] == "" for i in (1, 2, 3, 4, 5, 6, 7))
    assert "8 rows" not in result.stderr and "11 rows" in result.stderr and "3 routed, 8 with errors" in result.stderr


def test_first_row_with_surplus_fields_does_not_shift_columns(tiny_model_dir, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"id,text\nA1,{GOOD},x\nA2,{GOOD}\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert route(tiny_model_dir, path, "-o", out).exit_code == 0
    rows = read_csv(out)
    assert [(r["id"], r["text"]) for r in rows] == [("A1", GOOD), ("A2", GOOD)]
    assert rows[0]["route_status"].startswith("error: line 2 has 3 fields") and rows[1]["route_status"] == "ok"


def test_malformed_jsonl_lines_are_kept_with_their_line_number(tiny_model_dir, tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "text": GOOD}, ensure_ascii=False),
        '{"id": "b", "text": "unterminated',
        "",
        "[1, 2, 3]",
        json.dumps({"id": "c", "text": None}),
        json.dumps({"id": "d", "text": 12345}),
        json.dumps({"id": "e"}),
        "null",
        json.dumps({"id": "f", "title": "t", "text": GOOD}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = route(tiny_model_dir, path, "-o", out)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", "", "", "c", "d", "e", "", "f"]
    status = [r["route_status"] for r in rows]
    assert status[0] == status[7] == "ok"
    assert status[1] == "error: line 2 is not valid JSON"
    assert status[2].startswith("error: line 4 ") and "not an object" in status[2]
    assert status[6].startswith("error: line 8 ")
    assert status[3] in ("error: empty text", "error: missing text") and status[5] == status[3]
    assert status[4].startswith("error: no text")


def test_very_long_text_is_routed(tiny_model_dir, tmp_path):
    long_text = (GOOD * 20_000)[:300_001]
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", long_text], ["2", GOOD], ["3", "!" * 400_000]])
    out = tmp_path / "out.csv"
    result = route(tiny_model_dir, path, "-o", out)
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert [r["route_status"] for r in rows][:2] == ["ok", "ok"]
    assert rows[2]["route_status"].startswith("error: no text")
    assert rows[0]["text"] == long_text and rows[0]["department"]


def test_output_in_missing_folder_is_exit_2(tiny_model_dir, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    result = route(tiny_model_dir, path, "-o", tmp_path / "nowhere" / "out.csv")
    assert_clean_failure(result, tmp_path, {"in.csv"}, "does not exist", "nowhere")


def test_output_that_is_a_folder_is_exit_2(tiny_model_dir, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    (tmp_path / "out.csv").mkdir()
    result = route(tiny_model_dir, path, "-o", tmp_path / "out.csv")
    assert_clean_failure(result, tmp_path, {"in.csv", "out.csv"}, "is a folder", "expected a file name")
    assert not any((tmp_path / "out.csv").iterdir())


def test_output_with_unknown_extension_is_exit_2(tiny_model_dir, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    result = route(tiny_model_dir, path, "-o", tmp_path / "out.xls")
    assert_clean_failure(result, tmp_path, {"in.csv"}, "Unsupported file type", "out.xls")


def test_output_same_as_input_is_exit_2_and_keeps_the_input(tiny_model_dir, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    before = path.read_bytes()
    result = route(tiny_model_dir, path, "-o", path)
    assert_clean_failure(result, tmp_path, {"in.csv"}, "is the input file")
    assert path.read_bytes() == before


def test_output_in_read_only_folder_is_exit_2(tiny_model_dir, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: chmod does not stop writing")
        result = route(tiny_model_dir, path, "-o", locked / "out.csv")
        assert_clean_failure(result, tmp_path, {"in.csv", "locked"}, "not writable", "locked")
        assert not any(locked.iterdir())
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("damage", ["missing_weights", "tampered_labels", "missing_metadata", "bad_metadata_json"])
def test_broken_model_folder_is_exit_2_naming_the_file(tiny_model_dir, tmp_path, damage):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    name = {"missing_weights": "linear.npz", "tampered_labels": "labels.json"}.get(damage, "metadata.json")
    if damage in ("missing_weights", "missing_metadata"):
        (model / name).unlink()
    elif damage == "tampered_labels":
        labels = json.loads((model / name).read_text(encoding="utf-8"))
        labels["department"].reverse()
        (model / name).write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    else:
        (model / name).write_text("{not json", encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    path = write_csv(data / "in.csv", [["id", "text"], ["1", GOOD]])
    result = route(model, path, "-o", data / "out.csv")
    assert_clean_failure(result, data, {"in.csv"}, name)


def test_missing_model_folder_is_exit_2(tmp_path):
    path = write_csv(tmp_path / "in.csv", [["id", "text"], ["1", GOOD]])
    result = route(tmp_path / "no_model", path, "-o", tmp_path / "out.csv")
    assert_clean_failure(result, tmp_path, {"in.csv"}, "Model folder not found", "no_model")


def test_installed_command_fails_cleanly(tiny_model_dir, tmp_path):
    command = shutil.which("complaint-router", path=str(Path(sys.executable).parent))
    assert command, "the complaint-router command is not installed"
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 10)
    done = subprocess.run(
        [command, "route", str(junk), "-o", str(tmp_path / "out.csv"), "--model", str(tiny_model_dir)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COMPLAINT_ROUTER_DEBUG": ""},
    )  # fmt: skip
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr + done.stdout
    assert len(done.stderr.strip().splitlines()) == 1 and "binary" in done.stderr, done.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"junk.csv"}


def test_xlsx_with_formatted_empty_rows_at_the_end(tiny_model_dir, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["id", "text"])
    sheet.append(["1", GOOD])
    sheet.append([None, None])  # an empty row in the middle is kept as an empty row
    sheet.append(["3", GOOD])
    sheet["B40"].number_format = "@"  # formatting only: openpyxl reports rows up to 40
    workbook.save(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    assert route(tiny_model_dir, tmp_path / "in.xlsx", "-o", out).exit_code == 0
    rows = list(load_workbook(out, read_only=True).worksheets[0].iter_rows(values_only=True))
    header = rows[0]
    assert [r[header.index("id")] for r in rows[1:]] == ["1", None, "3"]
