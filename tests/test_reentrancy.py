"""route_file keeps no state between calls, restores what it changes, and leaves jieba's global dictionary alone."""

import signal

import pandas as pd
from typer.testing import CliRunner

import classifier.batch
from classifier.batch import route_file
from classifier.cli import app
from conftest import tiny_frame


def test_route_file_twice_with_two_models_in_one_process(tiny_model, tmp_path):
    from classifier.training import train
    from conftest import tiny_config

    frame = tiny_frame()
    frame.to_csv(tmp_path / "in.csv", index=False)
    other = train(frame.rename(columns={"department": "类别"})[["title", "text", "类别"]], tmp_path / "other",
                  tiny_config(label_cols=["类别"])).path  # fmt: skip
    first = route_file(tmp_path / "in.csv", tmp_path / "a.csv", tiny_model, jobs=2, chunk_size=5)
    second = route_file(tmp_path / "in.csv", tmp_path / "b.csv", other, jobs=1)
    assert classifier.batch._WORKER_MODEL is None
    assert first.rows == second.rows == len(frame)
    assert "类别" in pd.read_csv(tmp_path / "b.csv").columns and "department" in pd.read_csv(tmp_path / "a.csv").columns


def test_the_signal_handlers_are_restored(tiny_model_dir, tmp_path):
    def mine(signum, frame):
        pass

    previous = {number: signal.signal(number, mine) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        tiny_frame().to_csv(tmp_path / "in.csv", index=False)
        result = CliRunner().invoke(app, ["route", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.csv"), "-m", str(tiny_model_dir)])
        assert result.exit_code == 0, result.output
        assert signal.getsignal(signal.SIGINT) is mine and signal.getsignal(signal.SIGTERM) is mine
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def test_our_dictionary_is_not_added_to_the_global_segmenter():
    import rjieba

    from classifier.text import segment, user_words

    segment("纪委监委")
    word = next(w for w, _, _ in user_words() if not rjieba.has_word(w))
    assert word in segment(word)


def test_route_from_another_thread(tiny_model_dir, tmp_path):
    """A thread other than the main one cannot set signal handlers: they are left alone."""
    import threading

    tiny_frame().to_csv(tmp_path / "in.csv", index=False)
    args = ["route", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.csv"), "-m", str(tiny_model_dir)]
    results = []
    worker = threading.Thread(target=lambda: results.append(CliRunner().invoke(app, args)))
    worker.start()
    worker.join()
    assert results[0].exit_code == 0, results[0].output


def test_a_process_started_to_ignore_sigint_keeps_ignoring_it(tiny_model_dir, tmp_path, monkeypatch):
    import os

    from classifier.artifact import RoutingModel

    original = RoutingModel.predict_proba

    def predict_proba(self, docs):
        os.kill(os.getpid(), signal.SIGINT)
        return original(self, docs)

    monkeypatch.setattr(RoutingModel, "predict_proba", predict_proba)
    tiny_frame().to_csv(tmp_path / "in.csv", index=False)
    args = ["route", str(tmp_path / "in.csv"), "-o", str(tmp_path / "o.csv"), "-m", str(tiny_model_dir)]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
