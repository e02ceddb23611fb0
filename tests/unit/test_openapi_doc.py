import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_openapi_is_current() -> None:
    spec = importlib.util.spec_from_file_location("export_openapi", ROOT / "scripts" / "export_openapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (ROOT / "docs" / "openapi.json").read_text()
    assert committed == module.render(), "docs/openapi.json is stale: run `make openapi`"
