"""An interrupted run leaves nothing under the output name (and an older output there is left untouched)."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classifier.artifact import RoutingModel
from classifier.cli import app

GOOD = "小区物业乱收停车费，请住建局查处物业。"
OLD = b"an older output that must survive\n"


def write_input(path: Path, rows: int) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([f"m{i}", f"{GOOD}{i}" if i % 5 else ""] for i in range(rows))
    return path


def interrupt_on_call(monkeypatch, call: int) -> None:
    """The model raises KeyboardInterrupt on the ``call``-th chunk it is given (a batch of more than one row)."""
    original = RoutingModel.predict_proba
    calls = {"n": 0}

    def predict_proba(self, docs):
        calls["n"] += len(docs) > 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return original(self, docs)

    monkeypatch.setattr(RoutingModel, "predict_proba", predict_proba)


@pytest.mark.parametrize("suffix", ["csv", "jsonl.gz", "xlsx"])
def test_keyboard_interrupt_mid_file_leaves_no_output(tiny_model_dir, tmp_path, monkeypatch, suffix):
    source = write_input(tmp_path / "in.csv", 50)
    out = tmp_path / f"out.{suffix}"
    out.write_bytes(OLD)
    interrupt_on_call(monkeypatch, 3)
    args = ["route", str(source), "-o", str(out), "--model", str(tiny_model_dir), "--chunk-size", "10", "--jobs", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert out.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.csv", out.name])


def test_keyboard_interrupt_with_no_earlier_output(tiny_model_dir, tmp_path, monkeypatch):
    source = write_input(tmp_path / "in.csv", 30)
    interrupt_on_call(monkeypatch, 2)
    args = ["route", str(source), "-o", str(tmp_path / "out.csv"), "--model", str(tiny_model_dir), "--chunk-size", "10", "--jobs", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_an_interrupt_swallowed_by_a_library_still_stops_the_run(tiny_model_dir, tmp_path, monkeypatch):
    """A real SIGINT whose KeyboardInterrupt a library catches: the run stops at the next chunk all the same."""
    source = write_input(tmp_path / "in.csv", 50)
    out = tmp_path / "out.csv"
    out.write_bytes(OLD)
    original = RoutingModel.predict_proba
    calls = {"n": 0}

    def predict_proba(self, docs):
        calls["n"] += len(docs) > 1
        if calls["n"] == 2:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)  # the handler runs here
            except KeyboardInterrupt:
                pass
        return original(self, docs)

    monkeypatch.setattr(RoutingModel, "predict_proba", predict_proba)
    args = ["route", str(source), "-o", str(out), "--model", str(tiny_model_dir), "--chunk-size", "10", "--jobs", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130, result.output
    assert calls["n"] < 5  # stopped before the last chunk
    assert out.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.csv", out.name])


def test_failure_while_finishing_leaves_no_temporary_file(tiny_model_dir, tmp_path, monkeypatch):
    source = write_input(tmp_path / "in.csv", 20)
    out = tmp_path / "out.csv"

    def replace(src, dst):
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", replace)
    result = CliRunner().invoke(app, ["route", str(source), "-o", str(out), "--model", str(tiny_model_dir)])
    assert result.exit_code == 1 and "No space left" in result.stderr  # the system refused: not a user error (2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def _command() -> str:
    command = shutil.which("complaint-router", path=str(Path(sys.executable).parent))
    assert command, "the complaint-router command is not installed"
    return command


def test_killed_process_leaves_no_output(tiny_model_dir, tmp_path):
    """Real processes, interrupted while routing: SIGINT (one and two jobs) and SIGKILL, run side by side."""
    source = write_input(tmp_path / "in.csv", 60_000)
    cases = {"int1": (signal.SIGINT, "1"), "int2": (signal.SIGINT, "2"), "kill": (signal.SIGKILL, "1")}
    runs = {}
    for name, (_, jobs) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "out.csv").write_bytes(OLD)
        command = [_command(), "route", str(source), "-o", str(folder / "out.csv"), "--model", str(tiny_model_dir),
                   "--chunk-size", "1000", "--jobs", jobs]  # fmt: skip
        runs[name] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pending = set(runs)
        deadline = time.monotonic() + 90
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                partial = list((tmp_path / name).glob(".out.csv.*.partial"))
                if partial and partial[0].stat().st_size > 0:  # routing has started and written rows
                    runs[name].send_signal(cases[name][0])
                    pending.discard(name)
                assert runs[name].poll() is None or name not in pending, f"{name} finished before the signal"
            time.sleep(0.02)
        assert not pending, f"routing never started in {pending}"
        for name, process in runs.items():
            stdout, stderr = process.communicate(timeout=60)
            folder = tmp_path / name
            assert (folder / "out.csv").read_bytes() == OLD, name
            if cases[name][0] == signal.SIGKILL:
                assert process.returncode == -signal.SIGKILL
            else:
                assert process.returncode == 130, (name, process.returncode, stderr)
                assert "interrupted" in stderr and len(stderr.strip().splitlines()) == 1, stderr
                assert "Traceback" not in stderr
                assert sorted(p.name for p in folder.iterdir()) == ["out.csv"], name
    finally:
        for process in runs.values():
            if process.poll() is None:
                process.kill()
                process.wait()
