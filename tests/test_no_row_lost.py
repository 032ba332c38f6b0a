"""No row lost, none invented: 100,000 mixed good and bad rows come out as 100,000 rows, same ids, same order."""

from __future__ import annotations

import csv
import random

from typer.testing import CliRunner

from classifier.cli import app

N_ROWS = 100_000
GOOD = ["小区物业乱收停车费，请住建局查处。", "公司拖欠工资三个月，请劳动监察讨薪。", "学校乱收补课费，请教育局处理。",
        "村支书贪污扶贫款，请纪委调查。"]  # fmt: skip


def mixed_rows(n: int) -> list[list[str]]:
    rng = random.Random(3)
    rows = []
    for i in range(n):
        kind = rng.randrange(12)
        good = GOOD[i % len(GOOD)]
        text = {
            0: "",
            1: " \t  ",
            2: str(rng.randrange(10**9)),
            3: "!!! ？？？ 。。。",
            4: f'他说"{good}"，然后,\n又说：\r\n"好的"',
            5: good * 20,
            6: f"{good}#{i}",
            7: "\u3000\u00a0",
        }.get(kind, f"{good}{i}")
        ident = f"id{i // 2}" if kind in (8, 9) else f"id{i}"  # duplicate ids
        title = "" if kind % 3 else f"标题,{i}"
        rows.append([ident, title, text, f'"{i}"'])
    return rows


def read_rows(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_100k_mixed_rows_in_order_with_one_and_two_jobs(tiny_model_dir, tmp_path):
    rows = mixed_rows(N_ROWS)
    source = tmp_path / "in.csv"
    with open(source, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["id", "title", "text", "note"])
        writer.writerows(rows)
    outputs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}.csv"
        args = ["route", str(source), "-o", str(out), "--model", str(tiny_model_dir), "--jobs", str(jobs)]
        result = CliRunner().invoke(app, [*args, "--chunk-size", "7000"])
        assert result.exit_code == 0, result.output
        assert f"{N_ROWS} rows" in result.stderr
        outputs[jobs] = out.read_bytes()
    assert outputs[1] == outputs[2]

    header, *body = read_rows(tmp_path / "out1.csv")
    assert len(body) == N_ROWS
    assert all(len(line) == len(header) for line in body)
    assert header[:4] == ["id", "title", "text", "note"]
    assert [line[:4] for line in body] == rows
    status = [line[header.index("route_status")] for line in body]
    routable = [bool(text.strip()) and any(ch.isalpha() for ch in text) for _, _, text, _ in rows]
    assert [s == "ok" for s in status] == routable
    assert all(s.startswith("error: ") for s, ok in zip(status, routable) if not ok)
    department = header.index("department")
    assert all(line[department] for line, ok in zip(body, routable) if ok)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out1.csv", "out2.csv"]
