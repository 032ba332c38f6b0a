"""The HTTP service, started for real (``complaint-router serve`` in a subprocess on a free loopback port).

One server with a token, masking and small limits serves most tests; the reload tests run last on it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from classifier.router import route_rows

TOKEN = "s3cret-token"
SECRET_TEXT = "我家楼下的烧烤摊每天晚上营业到凌晨三点油烟很大"
"""A message text that must never reach the server's logs."""
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``complaint-router serve`` in a subprocess; stderr (its logs) goes to a file."""

    def __init__(self, tmp: Path, *args: str):
        self.port = free_port()
        self.log = tmp / f"serve-{self.port}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO), "COMPLAINT_ROUTER_LANG": "en"}
        command = [
            sys.executable,
            "-c",
            "from classifier.cli import app; app()",
            "serve",
            "--port",
            str(self.port),
            *args,
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env, cwd=tmp)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(encoding="utf-8")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server did not start: {self.log.read_text(encoding='utf-8')}")

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def versioned_copy(model_dir: Path, target: Path, version: str) -> Path:
    """A copy of a model folder whose metadata says ``version`` (metadata.json is not among the checksummed files)."""
    shutil.copytree(model_dir, target)
    meta = json.loads((target / "metadata.json").read_text(encoding="utf-8"))
    meta["model_version"] = version
    (target / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    model = versioned_copy(tiny_model_dir, tmp / "model", "tiny-v1")
    (tmp / "token").write_text(TOKEN + "\n", encoding="utf-8")
    running = Server(tmp, "--model", str(model), "--token-file", str(tmp / "token"), "--mask-pii",
                     "--max-messages", "5", "--max-bytes", "20000")  # fmt: skip
    running.tmp = tmp
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        yield c


MESSAGES = [
    {
        "id": "m1",
        "title": "公司拖欠工资",
        "text": "公司拖欠我们三个月工资，我叫张伟，电话13812345678。",
        "channel": "12345",
    },
    {"id": "m2", "title": "", "text": ""},
    {"id": "m3", "title": "小区电梯坏了", "text": SECRET_TEXT, "time": "2019-08-12 08:00"},
]


def test_route_answers_each_message_in_order(client, tiny_model):
    response = client.post("/route", json=MESSAGES)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [r["id"] for r in rows] == ["m1", "m2", "m3"]
    assert [r["route_status"] for r in rows] == ["ok", "error: empty text", "ok"]
    assert rows[1]["department"] is None and rows[1]["needs_review"] is True
    assert rows[0]["channel"] == "12345" and rows[2]["time"] == "2019-08-12 08:00" and rows[0]["time"] is None
    assert rows[0]["model_version"] == "tiny-v1" and {"urgent", "urgent_confidence", "department_top3"} <= set(rows[0])
    # masked after routing: the decision is the one of the unmasked text
    expected = route_rows(tiny_model, [m["title"] for m in MESSAGES], [m["text"] for m in MESSAGES])
    assert [r["department"] for r in rows[::2]] == expected["department"].tolist()[::2]
    assert rows[0]["text"] == "公司拖欠我们三个月工资，我叫[姓名]，电话[手机号]。"


def test_predict_explains(client):
    response = client.post(
        "/predict", json={"id": "p1", "title": "物业", "text": "小区物业乱收停车费，电话13812345678"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["route_status"] == "ok" and body["top_terms"] and {"term", "weight"} == set(body["top_terms"][0])
    assert body["text"] == "小区物业乱收停车费，电话[手机号]" and isinstance(body["deadline_days"], int)


def test_health_ready_model(server, client):
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}  # no token needed
    assert client.get("/ready").json() == {"ready": True, "model_version": "tiny-v1"}
    info = client.get("/model").json()
    assert info["version"] == "tiny-v1" and info["model_type"] == "linear"
    assert set(info["heads"]) == set(info["labels"]) >= {"screening", "department", "topic"}
    assert "department" in info["thresholds"] and "department" in info["metrics"]["validation"]
    assert info["catalogue"] is None


@pytest.mark.parametrize("path", ["/route", "/predict", "/model", "/ready", "/metrics", "/admin/reload", "/docs"])
def test_token_required(server, path):
    method = "POST" if path in ("/route", "/predict", "/admin/reload") else "GET"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = httpx.request(method, server.url + path, headers=headers, json=[])
        assert response.status_code == 401 and "bearer token" in response.json()["error"]
        assert response.headers["www-authenticate"] == "Bearer"


def test_limits_give_413(client):
    too_many = [{"id": str(i), "text": "电梯坏了"} for i in range(6)]
    response = client.post("/route", json=too_many)
    assert response.status_code == 413 and "at most 5" in response.json()["error"]
    too_big = [{"id": "big", "text": "电梯坏了" * 3000}]
    response = client.post("/route", json=too_big)
    assert response.status_code == 413 and "at most 20,000 bytes" in response.json()["error"]
    chunked = client.post(
        "/route", content=iter([json.dumps(too_big).encode()]), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413  # no Content-Length: counted as it arrives


@pytest.mark.parametrize("body, field", [
    ('[{"id": "a", "text": "x"', "body"),
    ('[{"id": "a", "text": 5}]', "body[0].text"),
    ('[{"title": "t", "text": "x"}]', "body[0].id"),
    ('{"id": "a", "text": "x"}', "body"),
    ('[{"id": "a", "text": "x", "txet": "y"}]', "body[0].txet"),
])  # fmt: skip
def test_malformed_requests_give_422_naming_the_field(client, body, field):
    response = client.post("/route", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert f"{field}:" in response.json()["error"] and response.json()["detail"]


def test_openapi_describes_every_field(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("Message", "RoutedMessage", "Prediction", "ModelInfo", "Error", "Reloaded"):
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), (name, field)


def test_metrics_count_requests_and_messages(client):
    client.post("/route", json=MESSAGES[:2])
    text = client.get("/metrics").text
    assert 'complaint_router_requests_total{endpoint="/route",method="POST",status="200"}' in text
    assert 'complaint_router_request_duration_seconds_bucket{endpoint="/route",le="0.25"}' in text
    assert 'complaint_router_messages_routed_total{endpoint="/route"}' in text
    assert 'complaint_router_message_errors_total{endpoint="/route"}' in text
    assert 'complaint_router_request_errors_total{endpoint="/route",status="413"}' in text
    assert 'complaint_router_pii_masked_total{kind="mobile"}' in text


def test_access_log_has_ids_and_sizes_never_text(server, client):
    client.post("/route", json=MESSAGES)
    deadline = time.monotonic() + 20
    while True:  # the server writes its access line after the response: wait for it
        lines = []
        for line in server.logs().splitlines():
            if "complaint_router.access" in line:
                try:
                    lines.append(json.loads(line.split("complaint_router.access ", 1)[1]))
                except json.JSONDecodeError:  # a line still being written
                    pass
        routed = [entry for entry in lines if entry["path"] == "/route" and entry["status"] == 200]
        if routed and routed[-1]["ids"] == ["m1", "m2", "m3"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert routed and routed[-1]["ids"] == ["m1", "m2", "m3"] and routed[-1]["messages"] == 3
    assert routed[-1]["bytes_in"] > 0 and routed[-1]["bytes_out"] > 0 and routed[-1]["ms"] > 0
    logs = server.logs()
    for secret in (SECRET_TEXT, "13812345678", "公司拖欠我们", "电梯坏了"):
        assert secret not in logs


def test_reload_failure_keeps_the_old_model(server, client):
    broken = versioned_copy(server.tmp / "model", server.tmp / "broken", "tiny-broken")
    victim = next(p for p in broken.iterdir() if p.name not in ("metadata.json", "labels.json"))
    victim.write_bytes(victim.read_bytes() + b"tampered")
    response = client.post("/admin/reload", json={"model": str(broken)})
    assert response.status_code == 409
    assert "checksum" in response.json()["error"] and response.json()["model_version"] == "tiny-v1"
    assert client.post("/route", json=MESSAGES[:1]).json()[0]["model_version"] == "tiny-v1"
    missing = client.post("/admin/reload", json={"model": str(server.tmp / "nowhere")})
    assert missing.status_code == 409 and "not found" in missing.json()["error"]


def test_reload_and_sighup_swap_the_model(server, client):
    second = versioned_copy(server.tmp / "model", server.tmp / "second", "tiny-v2")
    response = client.post("/admin/reload", json={"model": str(second)})
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "model_version": "tiny-v2", "previous_version": "tiny-v1",
                               "workers_restarting": False}  # fmt: skip
    assert client.post("/route", json=MESSAGES[:1]).json()[0]["model_version"] == "tiny-v2"
    meta = json.loads((second / "metadata.json").read_text(encoding="utf-8"))
    meta["model_version"] = "tiny-v3"
    (second / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    server.process.send_signal(signal.SIGHUP)  # reads the current folder again
    deadline = time.monotonic() + 20
    while client.get("/ready").json()["model_version"] != "tiny-v3":
        assert time.monotonic() < deadline, server.logs()
        time.sleep(0.2)
    assert 'complaint_router_model_reloads_total{result="ok"} 2.0' in client.get("/metrics").text


def test_serve_refuses_a_bad_model_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from classifier.cli import app; app()", "serve", "--model", str(tmp_path / "none"),
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.returncode == 2 and "Model folder not found" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # no "serving on" line before the error


def city_catalogue(path: Path, model, text: str) -> str:
    """Write a catalogue whose only responsibility text is ``text``, under a department ``model`` does not pick
    for it; return that department."""
    from classifier.data import catalogue_path

    raw = json.loads(catalogue_path().read_text(encoding="utf-8"))
    for department in raw["departments"]:
        department.update(scope="", matters=[], examples=[], keywords=[])
    picked = route_rows(model, [""], [text])["department"].iloc[0]
    chosen = next(d for d in raw["departments"] if d["name"] in model.labels["department"] and d["name"] != picked)
    chosen["scope"] = text
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return chosen["name"]


def test_serve_routes_with_a_city_catalogue_read_again_at_reload(tiny_model_dir, tiny_model, tmp_path):
    from classifier.catalogue import Catalogue
    from classifier.data import catalogue_path

    text = MESSAGES[0]["text"]
    city = tmp_path / "city.json"
    name = city_catalogue(city, tiny_model, text)
    share = lambda row: dict((n, float(p)) for n, p in (part.split(":") for part in row["department_top3"].split("|")))
    expected = route_rows(tiny_model.with_catalogue(Catalogue.load(city)), [""], [text]).iloc[0]
    plain = route_rows(tiny_model, [""], [text]).iloc[0]
    assert share(expected).get(name, 0) > share(plain).get(name, 0)  # the city's catalogue moves this message
    running = Server(tmp_path, "--model", str(tiny_model_dir), "--catalogue", str(city))
    try:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            assert client.get("/model").json()["catalogue"] == str(city.resolve())
            assert client.post("/route", json=[{"id": "c1", "text": text}]).json()[0]["department_top3"] == expected["department_top3"]
            city.write_text("{not json", encoding="utf-8")  # a broken edit: the old catalogue keeps serving
            failed = client.post("/admin/reload")
            assert failed.status_code == 409 and "not valid JSON" in failed.json()["error"]
            assert client.post("/route", json=[{"id": "c1", "text": text}]).json()[0]["department_top3"] == expected["department_top3"]
            shutil.copy(catalogue_path(), city)  # the city goes back to the bundled catalogue, the model's own
            assert client.post("/admin/reload").status_code == 200
            assert client.post("/route", json=[{"id": "c1", "text": text}]).json()[0]["department_top3"] == plain["department_top3"]
    finally:
        running.stop()


def test_serve_refuses_a_bad_catalogue(tiny_model_dir, tmp_path):
    (tmp_path / "city.json").write_text("[]", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", "from classifier.cli import app; app()", "serve", "--model", str(tiny_model_dir),
         "--catalogue", str(tmp_path / "city.json"), "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert result.returncode == 2 and "'departments' list" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_several_workers_share_metrics_and_reload_together(tiny_model_dir, tmp_path):
    model = versioned_copy(tiny_model_dir, tmp_path / "model", "tiny-v1")
    running = Server(tmp_path, "--model", str(model), "--workers", "2")
    try:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            for _ in range(6):
                assert client.post("/route", json=MESSAGES[:1]).status_code == 200
            text = client.get("/metrics").text
            assert 'complaint_router_requests_total{endpoint="/route",method="POST",status="200"} 6.0' in text
            second = versioned_copy(model, tmp_path / "second", "tiny-v2")
            response = client.post("/admin/reload", json={"model": str(second)})
            assert response.status_code == 200 and response.json()["workers_restarting"] is True
            deadline = time.monotonic() + 90
            while {client.post("/route", json=MESSAGES[:1]).json()[0]["model_version"] for _ in range(6)} != {
                "tiny-v2"
            }:
                assert time.monotonic() < deadline, running.logs()
                time.sleep(0.5)
    finally:
        running.stop()


def test_routing_path_does_not_import_the_web_stack():
    code = (
        "import sys, classifier.cli, classifier.batch, classifier.privacy, classifier.router; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'prometheus_client', 'httpx') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr
