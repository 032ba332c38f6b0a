"""The wheel holds every subpackage, the shipped model and the bundled data (found from any folder)."""

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_for_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "classifier").rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"


def test_shipped_model_and_data_are_package_resources(monkeypatch, tmp_path):
    from importlib import resources

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMPLAINT_ROUTER_MODEL", raising=False)
    from classifier.artifact import default_model_path

    assert (default_model_path() / "metadata.json").is_file()
    assert (Path(str(resources.files("classifier.bundled_data"))) / "departments.json").is_file()
