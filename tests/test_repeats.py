"""Repeats at routing time: the history index matches repeats, is saved next to the history and reloaded."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from classifier.batch import route_file
from classifier.cli import app
from classifier.errors import InputError
from classifier.repeats import RepeatIndex, index_folder
from test_dedup import BASE, OTHER, THIRD, VARIANTS

runner = CliRunner()


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "past.csv"
    pd.DataFrame([
        {"id": "P1", "text": BASE, "department": "住房和城乡建设局"},
        {"id": "P2", "text": OTHER, "department": "交通运输局"},
        {"id": "P3", "text": "", "department": "教育局"},
    ]).to_csv(path, index=False)  # fmt: skip
    return path


def test_match_finds_repeats_of_past_cases(history):
    index = RepeatIndex.build(history)
    assert len(index) == 2  # a past row without text cannot be repeated
    repeat_of, department, score = index.match([VARIANTS["added_sentence"], THIRD, "", OTHER + "至今没有人处理！"])
    assert repeat_of == ["P1", "", "", "P2"]
    assert department == ["住房和城乡建设局", "", "", "交通运输局"]
    assert score[0] >= 0.8 and score[1] is None


def test_save_and_load_give_the_same_matches_without_pickles(history, tmp_path):
    index = RepeatIndex.build(history)
    folder = index.save(tmp_path / "saved")
    with np.load(folder / "index.npz", allow_pickle=False) as data:
        assert set(data.files) == {"band_keys", "band_rows", "offsets", "ids", "departments"}
    loaded = RepeatIndex.load(folder)
    texts = [*VARIANTS.values(), THIRD, OTHER]
    assert loaded.match(texts) == index.match(texts)



def test_saving_again_replaces_the_whole_index_and_leaves_nothing_beside_it(history, tmp_path):
    folder = RepeatIndex.build(history).save(tmp_path / "saved")
    (folder / "shingles.npy").write_bytes(b"broken")
    RepeatIndex.build(history).save(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["index.npz", "meta.json", "shingles.npy"]
    assert [p.name for p in tmp_path.iterdir() if p.name != "past.csv"] == ["saved"]
    assert RepeatIndex.load(folder).match([BASE])[0] == ["P1"]

def test_index_is_reloaded_while_the_history_is_unchanged(history):
    _, status = RepeatIndex.for_history(history)
    assert status.action == "built" and status.folder == index_folder(history)
    _, status = RepeatIndex.for_history(history)
    assert status.action == "loaded"
    os.utime(history, ns=(1, 1))  # touched, same content: the hash says it is the same file
    _, status = RepeatIndex.for_history(history)
    assert status.action == "loaded"
    with open(history, "a", encoding="utf-8") as handle:
        handle.write(f"P4,{THIRD},人力资源和社会保障局\n")
    index, status = RepeatIndex.for_history(history)
    assert status.action == "rebuilt" and index.match([THIRD])[0] == ["P4"]


def test_damaged_index_is_rebuilt(history):
    RepeatIndex.for_history(history)
    (index_folder(history) / "shingles.npy").write_bytes(b"broken")
    index, status = RepeatIndex.for_history(history)
    assert status.action == "rebuilt" and "damaged" in status.note
    assert index.match([BASE])[0] == ["P1"]
    meta = json.loads((index_folder(history) / "meta.json").read_text(encoding="utf-8"))
    assert meta["rows"] == 2 and meta["source"]["name"] == "past.csv"


def test_history_needs_a_department_column(tmp_path):
    path = tmp_path / "past.csv"
    pd.DataFrame([{"id": "P1", "text": BASE}]).to_csv(path, index=False)
    with pytest.raises(InputError, match="department"):
        RepeatIndex.build(path)


def test_route_file_adds_repeat_columns(history, tiny_model, tmp_path):
    today = tmp_path / "today.csv"
    pd.DataFrame({"id": ["N1", "N2", "N3"], "text": [VARIANTS["script"], THIRD, ""]}).to_csv(today, index=False)
    index, _ = RepeatIndex.for_history(history)
    summary = route_file(today, tmp_path / "out.csv", tiny_model, history=index)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out["repeat_of"].tolist() == ["P1", "", ""]
    assert out["repeat_department"].tolist() == ["住房和城乡建设局", "", ""]
    assert out["route_status"].tolist()[:2] == ["ok", "ok"] and summary.repeats == 1


def test_route_file_matches_repeats_in_worker_processes_chunk_by_chunk(history, tiny_model, tmp_path):
    today = tmp_path / "today.csv"
    pd.DataFrame({"id": ["N1", "N2", "N3", "N4"], "text": [THIRD, VARIANTS["script"], "", OTHER]}).to_csv(today, index=False)
    index, _ = RepeatIndex.for_history(history)
    summary = route_file(today, tmp_path / "out.csv", tiny_model, history=index, jobs=2, chunk_size=1)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert out["repeat_of"].tolist() == ["", "P1", "", "P2"]
    assert out["repeat_department"].tolist() == ["", "住房和城乡建设局", "", "交通运输局"]
    assert summary.repeats == 2


def test_cli_route_with_history(history, tiny_model_dir, tmp_path):
    today = tmp_path / "today.csv"
    pd.DataFrame({"id": ["N1"], "text": [VARIANTS["reordered"]]}).to_csv(today, index=False)
    out = tmp_path / "out.csv"
    args = ["route", str(today), "-o", str(out), "-m", str(tiny_model_dir), "--history", str(history)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out, dtype=str)["repeat_of"].tolist() == ["P1"]
    assert (index_folder(history) / "meta.json").exists()
    result = runner.invoke(app, [*args[:-1], str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_closed_cases_are_not_repeated(tmp_path):
    path = tmp_path / "past.csv"
    pd.DataFrame([
        {"id": "P1", "text": BASE, "department": "住房和城乡建设局", "办理状态": "已办结"},
        {"id": "P2", "text": OTHER, "department": "交通运输局", "办理状态": "办理中"},
    ]).to_csv(path, index=False)  # fmt: skip
    index = RepeatIndex.build(path)
    assert index.match([BASE, OTHER])[0] == ["", "P2"]
