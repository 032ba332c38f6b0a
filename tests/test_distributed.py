"""The same answers with one process, two processes and a two-worker Dask ``LocalCluster`` (processes, on
loopback), and every row exactly once when a worker is killed mid-run."""

from __future__ import annotations

import os
import signal
import time

import pandas as pd
import pytest

pytest.importorskip("distributed")

from classifier.batch import route_file
from classifier.distributed import ModelPlugin, read_dataset, route_dataframe, route_dataset, stats_meta, write_partition

GOOD = "小区物业乱收停车费，请住建局查处物业。"
TEXTS = [GOOD, "村支书贪污扶贫款，收受贿赂，请纪委调查处理。", "楼道里燃气泄漏味道很大，随时可能爆炸。", "？？？", ""]


def messages(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"M{i:04d}" for i in range(start, start + n)], "title": ["反映"] * n,
                         "text": [f"{TEXTS[i % len(TEXTS)]}" for i in range(start, start + n)]})  # fmt: skip


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client


def test_jobs_1_jobs_2_and_a_cluster_give_identical_outputs(client, tiny_model_dir, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    messages(9).to_parquet(source / "a.parquet", index=False)
    messages(0).to_parquet(source / "b.parquet", index=False)  # an empty partition
    messages(7, 9).to_csv(source / "c.csv", index=False)
    with open(source / "c.csv", "a", encoding="utf-8") as handle:
        handle.write(f"BAD,反映,{GOOD},one field too many\n")
    messages(6, 16).to_parquet(source / "d.parquet", index=False)

    one = route_file(source, tmp_path / "one", tiny_model_dir, jobs=1, chunk_size=4)
    two = route_file(source, tmp_path / "two", tiny_model_dir, jobs=2, chunk_size=4)
    dask = route_dataset(source, tmp_path / "dask", tiny_model_dir, client=client)
    assert one.rows == two.rows == dask.rows == 23
    assert sum(dask.workers.values()) == 23 and dask.partitions == 3
    frames = [pd.read_parquet(tmp_path / name) for name in ("one", "two", "dask")]
    unusable = sum(1 for i in range(22) if i % len(TEXTS) >= 3)  # "？？？" and "" rows
    assert frames[0]["route_status"].str.startswith("error").sum() == unusable + 1  # and the malformed line
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])


def test_a_killed_worker_is_retried_and_every_row_is_written_once(client, tiny_model_dir, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for part in range(10):
        messages(5, 5 * part).to_parquet(source / f"p{part:02d}.parquet", index=False)
    client.register_plugin(ModelPlugin(str(tiny_model_dir)))
    ddf, _ = read_dataset(source)

    def slowly(frame):
        time.sleep(0.5)
        return frame

    routed = route_dataframe(ddf.map_partitions(slowly, meta=ddf._meta), tiny_model_dir)
    out = tmp_path / "out"
    out.mkdir()
    future = client.compute(routed.map_partitions(write_partition, str(out), meta=stats_meta()))
    deadline = time.monotonic() + 60
    while len(list(out.glob("part-*.parquet"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = next(iter(client.run(os.getpid).values()))
    written_before = len(list(out.glob("part-*.parquet")))
    os.kill(pid, signal.SIGKILL)
    stats = future.result(timeout=120)
    assert written_before < 10  # killed mid-run
    assert pid not in client.run(os.getpid).values()  # the worker died (its nanny started a new one)
    assert sorted(p.name for p in out.glob("part-*.parquet")) == [f"part-{i:05d}.parquet" for i in range(10)]
    routed_ids = pd.read_parquet(out)["id"].tolist()
    assert sorted(routed_ids) == [f"M{i:04d}" for i in range(50)]  # every row, exactly once
    assert int(stats["rows"].sum()) == 50


def test_cli_routes_on_a_running_scheduler_and_prints_the_split(client, tiny_model_dir, tmp_path):
    from typer.testing import CliRunner

    from classifier.cli import app

    source = tmp_path / "in"
    source.mkdir()
    messages(4).to_parquet(source / "a.parquet", index=False)
    messages(3, 4).to_parquet(source / "b.parquet", index=False)
    result = CliRunner().invoke(app, ["route", str(source), "-o", str(tmp_path / "out"), "--model",
                                      str(tiny_model_dir), "--dask", client.scheduler.address])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "7 rows" in result.output and "rows/s" in result.output and "2 partitions" in result.output
    assert pd.read_parquet(tmp_path / "out")["id"].tolist() == [f"M{i:04d}" for i in range(7)]


def test_cli_dask_routes_with_a_city_catalogue_like_route_file(client, tiny_model_dir, tmp_path):
    """``route --dask --catalogue``: the workers route with the city's catalogue, as ``route_file`` does."""
    import json

    from typer.testing import CliRunner

    from classifier.artifact import load_model
    from classifier.catalogue import Catalogue
    from classifier.cli import app
    from classifier.data import catalogue_path

    source = tmp_path / "in"
    source.mkdir()
    messages(5).to_parquet(source / "a.parquet", index=False)
    plain = route_file(source, tmp_path / "plain", tiny_model_dir, jobs=1)
    assert plain.routed
    before = pd.read_parquet(tmp_path / "plain")
    raw = json.loads(catalogue_path().read_text(encoding="utf-8"))
    for department in raw["departments"]:  # a city whose catalogue gives one department the first message's matter
        department.update(scope="", matters=[], examples=[], keywords=[])
    labels = set(load_model(tiny_model_dir).labels["department"]) - set(before["department"])
    moved = next(d for d in raw["departments"] if d["name"] in labels)
    moved.update(scope=GOOD, matters=["物业乱收停车费"])
    city = tmp_path / "city.json"
    city.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")

    route_file(source, tmp_path / "one", tiny_model_dir, jobs=1, catalogue=Catalogue.load(city))
    result = CliRunner().invoke(app, ["route", str(source), "-o", str(tmp_path / "dask"), "--model", str(tiny_model_dir),
                                      "--dask", client.scheduler.address, "--catalogue", str(city)])  # fmt: skip
    assert result.exit_code == 0, result.output
    one, dask = pd.read_parquet(tmp_path / "one"), pd.read_parquet(tmp_path / "dask")
    pd.testing.assert_frame_equal(one, dask)
    share = lambda top3: dict((name, float(p)) for name, p in (part.split(":") for part in top3.split("|")))
    assert share(dask["department_top3"][0]).get(moved["name"], 0) > share(before["department_top3"][0]).get(moved["name"], 0)


@pytest.mark.parametrize(("output", "address", "expected"), [
    ("out.csv", "local", "expected a folder name"),
    ("out", "10.0.0.5:8786", "tcp://HOST:PORT"),
])  # fmt: skip
def test_cli_dask_refuses_a_file_output_and_a_bad_address(tiny_model_dir, tmp_path, output, address, expected):
    from typer.testing import CliRunner

    from classifier.cli import app

    messages(3).to_parquet(tmp_path / "in.parquet", index=False)
    result = CliRunner().invoke(app, ["route", str(tmp_path / "in.parquet"), "-o", str(tmp_path / output),
                                      "--model", str(tiny_model_dir), "--dask", address])  # fmt: skip
    assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]
