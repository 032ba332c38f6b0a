"""Command-line usage mistakes are one line in the user's language with exit code 2, not click's usage block."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from classifier.cli import app
from classifier.usage_errors import chinese_reason

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "chinese"),
    [
        (["route", "in.csv", "-o", "out.csv", "--jobs", "abc"], "'--jobs' / '-j' 的值无效："),
        (["route", "in.csv", "-o", "out.csv", "--chunk-size", "0"], "'--chunk-size' 的值无效："),
        (["route", "in.csv", "-o", "out.csv", "--bogus"], "没有选项 --bogus"),
        (["route", "in.csv"], "缺少选项 '--output' / '-o'"),
        (["route"], "缺少参数 'INPUT'"),
        (["routee", "in.csv"], "没有命令 'routee'，是不是 'route'？"),
        (["route", "in.csv", "-o"], "选项 '-o' 需要一个值（用法见 complaint-router route --help）"),
        (["suggest", "in.csv", "--n"], "选项 '--n' 需要一个值（用法见 complaint-router suggest --help）"),
        (["route", "in.csv", "-o", "out.csv", "extra"], "多余的参数：extra（用法见 complaint-router route --help）"),
        (["route", "in.csv", "-o", "out.csv", "--jobs", "-3"], "'--jobs' / '-j' 的值无效：应不小于 0"),
    ],
)
def test_a_usage_mistake_is_one_chinese_line(args, chinese, monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and chinese in lines[0]
    assert "--help" in lines[0] and "Usage" not in result.output


def test_in_english_the_reason_is_clicks_own():
    result = runner.invoke(app, ["route", "in.csv", "-o", "out.csv", "--jobs", "abc"])
    assert result.exit_code == 2
    line = result.output.strip()
    assert "\n" not in line and line.startswith("Error: Invalid value for '--jobs' / '-j': ")
    assert line.endswith("(see complaint-router route --help)")


@pytest.mark.parametrize(
    ("reason", "chinese"),
    [
        ("Invalid value for '--jobs' / '-j': Input should be a valid integer, unable to parse string as an integer",
         "'--jobs' / '-j' 的值无效：应为整数"),
        ("Invalid value for '--chunk-size': Input should be greater than or equal to 1", "'--chunk-size' 的值无效：应不小于 1"),
        ("Invalid value for '--lang': 'fr' is not one of 'zh', 'en'.", "'--lang' 的值无效：'fr' 不是可选值之一（'zh', 'en'）"),
        ("No such option: --bogus Did you mean --jobs?", "没有选项 --bogus，是不是 --jobs？"),
        ("Got unexpected extra argument (b.csv)", "多余的参数：b.csv"),
        ("Got unexpected extra argument(s) (b.csv c.csv)", "多余的参数：b.csv c.csv"),
        ("Something click says that has no pattern", "Something click says that has no pattern"),
    ],
)
def test_known_click_reasons_are_put_into_chinese(reason, chinese):
    assert chinese_reason(reason) == chinese


def test_help_is_still_help():
    result = runner.invoke(app, ["route", "--help"])
    assert result.exit_code == 0 and "--jobs" in result.output


def test_no_arguments_still_shows_the_whole_help(monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")
    result = runner.invoke(app, [])
    assert "错误" not in result.output and len(result.output.splitlines()) > 10
    assert "route" in result.output and "adapt" in result.output


@pytest.mark.parametrize("args", [["--help"], ["route", "--help"], ["train", "--help"]])
def test_help_pages_speak_chinese_by_default(args, monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert result.output.startswith("用法：complaint-router") and "选项：" in result.output
    assert "显示本帮助并退出。" in result.output
    for english in ("Usage:", "Options:", "Show this message", "[required]", "[default:"):
        assert english not in result.output, english


def test_help_pages_keep_clicks_words_in_english():
    result = runner.invoke(app, ["train", "--help"])
    assert result.output.startswith("Usage: complaint-router train") and "Options:" in result.output
    assert "Show this message and exit." in result.output and "[default: linear]" in result.output
    assert "[required]" in result.output


def test_the_language_option_takes_any_case(monkeypatch):
    monkeypatch.setenv("COMPLAINT_ROUTER_LANG", "zh")
    result = runner.invoke(app, ["--lang", "EN", "route", "in.csv", "-o", "out.csv", "--jobs", "abc"])
    assert result.exit_code == 2 and result.output.startswith("Error: Invalid value for '--jobs'")
