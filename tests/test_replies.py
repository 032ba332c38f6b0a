"""The reply checker: asks, brush-offs, evidence, working days, grades, whole files, the report and the CLI."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.catalogue import Catalogue
from classifier.cli import app
from classifier.data import catalogue_path
from classifier.errors import InputError
from classifier.replies import OUTPUT_COLUMNS, check_replies, score_reply, write_report
from classifier.replies.asks import split_asks
from classifier.replies.files import match_department
from classifier.replies.lexicon import lexicon, parse_sections
from classifier.replies.signals import clean, find_evidence, relevance
from classifier.replies.timing import timing, working_days

MESSAGE_TITLE = "投诉A3区幸福小区物业乱收停车费"
MESSAGE = "幸福小区物业公司每月多收停车费200元，没有任何收费文件。1、请问停车费标准是多少？2、请求责令物业退还多收的费用。"
GOOD_REPLY = ("网友您好！您的留言已收悉。现将有关情况回复如下：经查，幸福小区物业公司自2019年3月起按每月300元收取停车费，"
              "未按规定明码标价。我局已责令该物业公司于5月20日前退还多收停车费共计12000元，并处罚款2000元。"
              "停车费标准依据《A市住宅小区停车服务收费管理办法》为每月100元。感谢您对我们工作的支持！2019年5月8日")
FORWARD_REPLY = "您的留言已收悉。关于您反映的问题，已转相关部门调查处理。"
BRUSHOFF_REPLY = "网友您好！您反映的问题我们高度重视，正在研究，待条件成熟后将认真考虑。感谢您的支持！"
DODGE_REPLY = "网友您好！我局一直重视物业管理工作，近年来开展了物业服务星级评定，全市物业服务水平明显提升。感谢您的监督！"


@pytest.fixture(autouse=True)
def chinese_reasons(monkeypatch):
    """Reasons and reports are checked in Chinese, the default; English is tested where asked for."""
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")


def test_lexicon_sections_and_sources():
    lex = lexicon()
    assert "正在研究" in lex.brushoff and "已责令" in lex.done_action
    assert all(full and short for short, full in lex.department_alias)
    with pytest.raises(ValueError, match="before any"):
        parse_sections("entry without a section")


def test_asks_split_questions_numbered_points_and_requests():
    asks = split_asks(MESSAGE_TITLE, clean(MESSAGE))
    assert any("停车费标准" in a for a in asks)
    assert any("退还" in a for a in asks)
    assert split_asks("", clean("小区门口路灯坏了三个月。")) == ["小区门口路灯坏了三个月"]


def test_forwarding_and_formulas_are_brushoffs_and_actions_are_evidence():
    forward = find_evidence(clean(FORWARD_REPLY))
    assert forward.forward_without_result and any("转相关部门调查处理" in f for f in forward.brushoff_list())
    formulas = find_evidence(clean(BRUSHOFF_REPLY)).brushoff_list()
    assert any("正在研究" in f for f in formulas) and any("条件成熟" in f for f in formulas)
    assert not any(f != other and f in other for f in formulas for other in formulas)  # none listed twice
    good = find_evidence(clean(GOOD_REPLY))
    found = "；".join(good.concrete_list())
    assert "责令" in found and "12000元" in found and "《A市住宅小区停车服务收费管理办法》" in found
    assert not good.forward_without_result


def test_relevance_is_higher_for_an_answer_on_the_subject():
    message = clean(MESSAGE_TITLE + MESSAGE)
    assert relevance(message, clean(GOOD_REPLY)) > relevance(message, clean(DODGE_REPLY)) + 0.1


@pytest.mark.parametrize("reply, quality", [(GOOD_REPLY, "good"), (FORWARD_REPLY, "poor"), (BRUSHOFF_REPLY, "poor")])
def test_grades(reply, quality):
    score = score_reply(MESSAGE_TITLE, MESSAGE, reply)
    assert score.quality == quality
    assert score.reasons, "every grade comes with its reasons"


def test_unanswered_asks_are_listed():
    score = score_reply(MESSAGE_TITLE, MESSAGE, "网友您好！经查，停车费标准依据《A市停车收费办法》为每月100元。")
    assert score.completeness == pytest.approx(0.5)
    assert any("退还" in ask for ask in score.unanswered)


def test_working_days_follow_the_official_calendar():
    assert working_days(dt.date(2019, 9, 30), dt.date(2019, 10, 8)) == 1  # National Day week, 8 Oct worked
    assert working_days(dt.date(2019, 9, 27), dt.date(2019, 9, 30)) == 2  # Sunday 29 Sep was a working day
    assert working_days(dt.date(2031, 3, 7), dt.date(2031, 3, 10)) == 1  # outside the calendar: Monday to Friday
    assert timing("2019/5/6 9:50:38", "2019/5/6 17:00:00", 1).days == 0


def test_no_reply_keeps_quality_empty_and_says_so():
    score = score_reply(MESSAGE_TITLE, MESSAGE, "  ", message_time="2019/5/6", reply_time="")
    assert score.quality == "" and "没有答复" in score.reasons[0]


@pytest.mark.parametrize("time, reply_time, said", [
    ("", "2019/5/8", "缺少留言时间"), ("2019/5/6", "", "缺少答复时间"), ("昨天下午", "2019/5/8", "留言时间无法识别"),
    ("2019/5/6", "2019/13/45", "答复时间无法识别"), ("2019/5/8 10:00", "2019/5/6 09:00", "早于留言时间"),
])  # fmt: skip
def test_time_problems_leave_days_empty_and_are_said(time, reply_time, said):
    score = score_reply(MESSAGE_TITLE, MESSAGE, GOOD_REPLY, message_time=time, reply_time=reply_time, deadline_days=5)
    assert score.days_to_reply is None and score.on_time is None
    assert any(said in reason for reason in score.reasons)
    assert score.quality == "good"  # time problems never change the content grade


def test_late_reply_is_flagged_against_the_deadline_class():
    score = score_reply(MESSAGE_TITLE, MESSAGE, GOOD_REPLY, message_time="2019/5/6", reply_time="2019/5/20",
                        deadline_days=5, deadline_class="B")  # fmt: skip
    assert score.days_to_reply == 10 and score.on_time is False
    assert any("超过B类时限" in reason for reason in score.reasons)


def test_very_long_reply_is_scored_and_said():
    long_reply = GOOD_REPLY + "我局将继续加强物业管理。" * 10_000
    score = score_reply(MESSAGE_TITLE, MESSAGE, long_reply)
    assert score.quality in ("good", "acceptable", "poor")
    assert any("答复过长" in reason for reason in score.reasons)


def test_reasons_in_english(monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "en")
    assert score_reply(MESSAGE_TITLE, MESSAGE, FORWARD_REPLY).reasons[0].startswith("no substance")
    assert score_reply(MESSAGE_TITLE, MESSAGE, "").reasons[0] == "no reply"


def test_department_names_are_matched_to_the_catalogue():
    catalogue = Catalogue.load(catalogue_path())
    assert match_department("公安局", catalogue) == "公安局"
    assert match_department("A市公安局交警支队", catalogue) == "公安局"
    assert match_department("A7县住建局", catalogue) == "住房和城乡建设局"
    assert match_department("某某公司", catalogue) is None


def _table(tmp_path, rows, name="in.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_file_keeps_every_row_in_order_with_its_columns(tmp_path):
    rows = [
        {"id": "a", "留言主题": MESSAGE_TITLE, "留言详情": MESSAGE, "答复意见": GOOD_REPLY, "留言时间": "2019/5/6 9:00",
         "答复时间": "2019/5/7 10:00", "承办单位": "A市公安局交警支队"},
        {"id": "b", "留言主题": MESSAGE_TITLE, "留言详情": MESSAGE, "答复意见": "", "留言时间": "2019/5/6",
         "答复时间": "", "承办单位": "住建局"},
        {"id": "c", "留言主题": MESSAGE_TITLE, "留言详情": MESSAGE, "答复意见": FORWARD_REPLY, "留言时间": "坏时间",
         "答复时间": "2019/5/7", "承办单位": "住建局"},
    ]  # fmt: skip
    out = tmp_path / "out.csv"
    summary = check_replies(_table(tmp_path, rows), out, model="unused: every row has a department")
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ["a", "b", "c"]
    assert frame.columns.tolist()[-len(OUTPUT_COLUMNS):] == list(OUTPUT_COLUMNS)
    assert frame.loc[0, "department_used"] == "A市公安局交警支队" and frame.loc[0, "department_source"] == "input"
    assert frame.loc[0, "days_to_reply"] == "1" and frame.loc[0, "on_time"] == "True"  # class A: 1 working day
    assert frame.loc[1, "quality"] == "" and "没有答复" in frame.loc[1, "reasons"]
    assert frame.loc[2, "quality"] == "poor" and "留言时间无法识别" in frame.loc[2, "reasons"]
    assert summary.rows == 3 and summary.replies == 2 and summary.qualities["poor"] == 1


def test_department_is_predicted_when_absent(tmp_path, tiny_model_dir):
    rows = [{"title": "学校乱收费", "text": "孩子所在的中学乱收补课费，请教育局处理。", "reply": GOOD_REPLY}]
    out = tmp_path / "out.jsonl"
    check_replies(_table(tmp_path, rows), out, model=tiny_model_dir)
    record = pd.read_json(out, lines=True, dtype=False).iloc[0]
    assert record["department_source"] == "predicted" and record["department_used"] == "教育局"


def test_malformed_rows_are_kept_and_clashing_columns_renamed(tmp_path, tiny_model_dir):
    path = tmp_path / "bad.csv"
    path.write_text("text,reply,quality\n小区物业乱收费,已责令整改,x\n学校补课,答复,y,多余字段\n电梯坏了,,z\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    check_replies(path, out, model=tiny_model_dir)
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(frame) == 3 and frame["quality_input"].tolist() == ["x", "y", "z"]
    assert "无法读取" in frame.loc[1, "reasons"]


def test_missing_reply_column_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="没有答复列"):
        check_replies(_table(tmp_path, [{"text": "留言"}]), tmp_path / "out.csv")


def _summary(tmp_path):
    rows = [{"text": MESSAGE, "reply": r, "department": d, "time": "2019/5/6", "reply_time": "2019/5/9"}
            for r, d in [(GOOD_REPLY, "公安局"), (FORWARD_REPLY, "住建局"), (BRUSHOFF_REPLY, "住建局")]]  # fmt: skip
    return check_replies(_table(tmp_path, rows), tmp_path / "out.csv")


def test_report_ranks_departments_by_share_of_poor(tmp_path, monkeypatch):
    from classifier.replies import report

    path = write_report(_summary(tmp_path), tmp_path / "report")
    text = path.read_text(encoding="utf-8")
    assert text.index("| – | 住建局 |") < text.index("| – | 公安局 |")  # fewer than 10 replies: listed, unranked
    monkeypatch.setattr(report, "MIN_REPLIES_RANKED", 1)
    text = write_report(_summary(tmp_path), tmp_path / "report").read_text(encoding="utf-8")
    assert text.index("| 1 | 住建局 |") < text.index("| 2 | 公安局 |")
    assert (tmp_path / "report" / "days_to_reply.png").stat().st_size > 1000
    assert "已转相关部门" in text  # an excerpt of a poor reply


def test_report_without_a_chinese_font_numbers_the_departments(tmp_path, monkeypatch):
    from classifier import plotting

    plt, _ = plotting.pyplot()
    monkeypatch.setattr(plotting, "pyplot", lambda: (plt, False))
    text = write_report(_summary(tmp_path), tmp_path / "report").read_text(encoding="utf-8")
    assert "1 = 住建局" in text


def test_cli_writes_output_and_report(tmp_path):
    rows = [{"text": MESSAGE, "reply": FORWARD_REPLY, "department": "住建局"}]
    result = CliRunner().invoke(app, ["--lang", "en", "replies", str(_table(tmp_path, rows)), "-o", str(tmp_path / "o.csv"),
                                      "--report", str(tmp_path / "rep")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "poor 1" in result.output and (tmp_path / "rep" / "report.md").exists()
    frame = pd.read_csv(tmp_path / "o.csv", dtype=str)
    assert frame.loc[0, "reasons"].startswith("no substance")


def test_cli_bad_input_is_one_line_and_exit_code_2(tmp_path):
    result = CliRunner().invoke(app, ["replies", str(_table(tmp_path, [{"text": "留言"}])), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "没有答复列" in result.output
    assert "Traceback" not in result.output


def test_report_counts_unanswered_empty_and_misdated_rows(tmp_path):
    """A department whose only row has no reply yet, an empty row and a reply dated before its message: the report
    is written, counts what was not graded and why, and the graded rows are reported as before."""
    late = {"text": MESSAGE, "reply": FORWARD_REPLY, "department": "住建局", "time": "2019/5/9", "reply_time": "2019/5/6"}
    rows = [
        {"text": MESSAGE, "reply": GOOD_REPLY, "department": "公安局", "time": "2019/5/6", "reply_time": "2019/5/9"},
        {"text": "学校乱收补课费，请教育局处理。", "reply": "", "department": "教育局", "time": "2019/5/6", "reply_time": ""},
        late,
        {"text": MESSAGE, "reply": BRUSHOFF_REPLY, "department": "住建局", "time": "2019/5/6", "reply_time": "2019/5/8"},
        {"text": "", "reply": "", "department": "", "time": "", "reply_time": ""},
    ]  # fmt: skip
    result = CliRunner().invoke(app, ["replies", str(_table(tmp_path, rows)), "-o", str(tmp_path / "o.csv"),
                                      "--report", str(tmp_path / "rep")])  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "o.csv", dtype=str, keep_default_na=False)
    assert len(frame) == 5 and frame["quality"].tolist() == ["good", "", "poor", "poor", ""]
    text = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "共5行，其中有答复3条：好 1，一般 0，差 2" in text
    assert "未评级2行：没有答复1行，空行（没有留言也没有答复）1行" in text
    assert "1条答复未计算用时（答复时间早于留言时间 1条），不计入用时中位数和超时占比" in text
    table = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| – |")}
    assert set(table) == {"住建局", "公安局", "教育局"}  # the empty row is no department's
    assert table["住建局"] == "| – | 住建局 | 2 | 0 | 2 | 0 | 0 | 100% | 2 | 0% |"  # only the other reply is timed
    assert table["教育局"] == "| – | 教育局 | 0 | 1 | 0 | 0 | 0 | – | – | – |"
    assert text.index("| – | 住建局 |") < text.index("| – | 公安局 |") < text.index("| – | 教育局 |")
    assert (tmp_path / "rep" / "days_to_reply.png").exists()


def test_report_in_english_names_the_rows_not_graded(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "en")
    rows = [{"text": MESSAGE, "reply": "", "department": "教育局"}]
    text = write_report(check_replies(_table(tmp_path, rows), tmp_path / "o.csv"), tmp_path / "rep").read_text(encoding="utf-8")
    assert "1 rows, 0 with a reply" in text and "1 rows not graded: 1 without a reply" in text
    assert "| – | 教育局 | 0 | 1 | 0 | 0 | 0 | – | – | – |" in text
