"""``suggest``: the messages of a new city's file most worth labelling, with the model's guess."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.cli import app
from classifier.errors import InputError
from classifier.router import prepare, route_batch
from classifier.suggest import _contradict, choose, informativeness, suggest_file

runner = CliRunner()

NEW_CITY = [
    ("内河清淤", "城区内河多年没有清淤，河道堵塞发臭"),
    ("排涝不畅", "一下雨小区门口就积水，排涝泵站不开"),
    ("河道垃圾", "河道里垃圾很多，没人打捞"),
    ("物业收费", "小区物业乱收停车费，业委会不管"),
    ("拖欠工资", "工地老板拖欠农民工工资半年"),
    ("学校收费", "学校强制收取资料费"),
    ("村干部", "村支书挪用扶贫款，请纪委调查"),
    ("电梯坏了", "小区电梯坏了一个月没人修"),
    ("", "12345"),
    ("社保", "单位不给交社保，要求补缴"),
]


@pytest.fixture
def city_file(tmp_path):
    path = tmp_path / "city.csv"
    frame = pd.DataFrame([{"编号": f"C{i:02d}", "留言主题": t, "留言详情": x, "department": "原始列"} for i, (t, x) in enumerate(NEW_CITY)])
    frame.to_csv(path, index=False)
    return path


def test_suggest_writes_the_chosen_rows_with_guesses_and_empty_label_columns(city_file, tiny_model_dir, tmp_path):
    out = tmp_path / "to_label.csv"
    result = suggest_file(city_file, out, tiny_model_dir, n=4)
    chosen = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert result.chosen == len(chosen) == 4 and result.rows == 10 and result.routable == 9
    assert chosen["suggest_rank"].tolist() == ["1", "2", "3", "4"]
    assert chosen["suggest_score"].astype(float).is_monotonic_decreasing
    source = pd.read_csv(city_file, dtype=str, keep_default_na=False).set_index("编号")
    for _, row in chosen.iterrows():  # every chosen row keeps its id and input columns
        assert source.loc[row["编号"], "留言详情"] == row["留言详情"] and row["department_input"] == "原始列"
    assert "C08" not in set(chosen["编号"])  # a row with no usable text is never suggested
    assert (chosen["department"] == "").all() and (chosen["screening"] == "").all()
    assert chosen["guess_department"].ne("").any() or chosen["guess_screening"].eq("无效").all()
    assert all(cell.count("|") <= 2 for cell in chosen["guess_department_top3"])
    assert {"guess_department_confidence", "guess_screening", "suggest_reasons"} <= set(chosen.columns)


def test_every_pick_says_why(city_file, tiny_model_dir, tmp_path):
    out = tmp_path / "to_label.csv"
    suggest_file(city_file, out, tiny_model_dir, n=9)
    reasons = pd.read_csv(out, dtype=str, keep_default_na=False)["suggest_reasons"]
    known = {"low_margin", "catalogue", "heads", "rules", "coverage"}
    assert all(cell and set(cell.split(";")) <= known for cell in reasons), reasons.tolist()


def test_prefill_and_more_rows_than_the_file(city_file, tiny_model_dir, tmp_path):
    out = tmp_path / "to_label.xlsx"
    result = suggest_file(city_file, out, tiny_model_dir, n=50, prefill=True)
    chosen = pd.read_excel(out, dtype=str).fillna("")
    assert result.chosen == len(chosen) == 9
    assert (chosen["department"] == chosen["guess_department"]).all()


def test_rows_screened_invalid_come_last(shipped_model, tmp_path):
    junk = [("测试", "测试测试"), ("", "asdfghjkl qwerty"), ("", "啊啊啊啊啊啊")]
    path = tmp_path / "city.csv"
    pd.DataFrame([{"标题": t, "内容": x} for t, x in NEW_CITY + junk]).to_csv(path, index=False)
    titles, texts = [t for t, _ in junk], [x for _, x in junk]
    assert (route_batch(shipped_model, titles, texts)[0]["screening"] == "无效").all()  # the rules catch them
    suggest_file(path, tmp_path / "few.csv", shipped_model, n=5)
    few = pd.read_csv(tmp_path / "few.csv", dtype=str, keep_default_na=False)
    assert not set(few["内容"]) & set(texts)
    suggest_file(path, tmp_path / "all.csv", shipped_model, n=20)
    every = pd.read_csv(tmp_path / "all.csv", dtype=str, keep_default_na=False)
    assert len(every) == 12 and set(every["内容"].tail(3)) == set(texts)


def test_choose_takes_the_best_row_of_each_cluster():
    docs = ["河道清淤"] * 1 + ["河道淤积清淤排涝"] + ["拖欠工资农民工"] + ["拖欠工资半年"] + ["学校收费"] + ["学校补课收费"]
    scores = np.array([0.1, 0.9, 0.8, 0.2, 0.3, 0.4])
    picked = choose(scores, docs, 3, seed=0)
    assert len(picked) == 3 and len(set(picked)) == 3 and picked[0] == 1
    assert np.all(np.diff(scores[picked]) <= 0)
    assert set(choose(scores, ["同一条"] * 6, 3).tolist()) == {0}  # repeated texts count once


def test_uncertain_and_contradicting_rows_score_higher(tiny_model):
    docs, _ = prepare(["", ""], ["小区物业乱收费，请住建局查处物业", "村支书收受贿赂，但这其实是关于学校的老师工资的问题"])
    decided, probs = route_batch(tiny_model, ["", ""], ["小区物业乱收费，请住建局查处物业", "村支书收受贿赂，但这其实是关于学校的老师工资的问题"])
    scores, reasons = informativeness(tiny_model, docs, decided, probs)
    assert scores[1] > scores[0] and "low_margin" in reasons[1]
    assert _contradict("纪检监察", "教育局") and _contradict("政务服务", "纪委监委") and _contradict("政务服务", "信访局")
    assert not _contradict("信访事项", "住房和城乡建设局") and not _contradict("无效", "无")


def test_bad_input_is_a_clear_error(city_file, tiny_model_dir, tmp_path):
    with pytest.raises(InputError, match="at least 1"):
        suggest_file(city_file, tmp_path / "o.csv", tiny_model_dir, n=0)
    (tmp_path / "empty_text.csv").write_text("title,text\n标题,\n,12345\n", encoding="utf-8")
    with pytest.raises(InputError, match="No routable message"):
        suggest_file(tmp_path / "empty_text.csv", tmp_path / "o.csv", tiny_model_dir, n=5)
    assert not (tmp_path / "o.csv").exists()


def test_cli_suggest(city_file, tiny_model_dir, tmp_path):
    out = tmp_path / "to_label.csv"
    result = runner.invoke(app, ["suggest", str(city_file), "--n", "3", "-o", str(out), "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 3 and "adapt" in result.output
    result = runner.invoke(app, ["suggest", str(tmp_path / "none.csv"), "-o", str(out), "-m", str(tiny_model_dir)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["suggest", str(bad), "-o", str(out), "-m", str(tiny_model_dir)])
    assert result.exit_code == 2 and "text" in result.output.lower()
