"""What ships in the two Lambda layers (scripts/build_layers.py): only what the functions import."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import build_layers
from tests.infra.support import ROOT, Synth

DEV_ONLY = ("contextiq/evaluation", "contextiq/local", "contextiq/cli.py")
NEVER_IMPORTED = ("grpc", "google", "opensearch")  # top-level packages of the dropped distributions


@pytest.fixture(scope="module")
def core_layer(deps_layer: Path) -> Path:  # deps_layer (conftest) builds both layers
    return build_layers.CORE_DIR / "python"


def test_core_layer_leaves_out_dev_only_code(core_layer: Path) -> None:
    for relative in DEV_ONLY:
        assert (build_layers.CORE_SOURCE / relative).exists(), relative  # the source has it...
        assert not (core_layer / relative).exists(), relative  # ...the layer does not
    shipped = {p.relative_to(core_layer) for p in core_layer.rglob("*.py")}
    closure = {
        p.relative_to(build_layers.CORE_SOURCE) for p in build_layers.import_closure(build_layers.handler_files())
    }
    assert shipped == closure
    assert Path("contextiq/stores/vector/opensearch.py") in shipped


@pytest.mark.infra
def test_every_handler_imports_from_the_built_core_layer_alone(core_layer: Path) -> None:
    # Catches an import the static closure misses (importlib, a string): the handler would fail to load.
    script = """
import importlib.util, sys
failures = []
for name in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location(f"handler_{name}", f"functions/{name}/handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.handler), name
outside = [m for m, mod in sys.modules.items()
           if m.startswith("contextiq") and getattr(mod, "__file__", None) and "/layers/build/core/" not in mod.__file__]
assert not outside, outside
assert "contextiq.local" not in sys.modules and "contextiq.evaluation" not in sys.modules
print("ok")
"""
    env = {
        "PATH": os.environ["PATH"],
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": str(core_layer),
    }
    names = [p.parent.name for p in build_layers.handler_files()]
    from infra.stages import FUNCTION_NAMES

    assert sorted(names) == sorted(FUNCTION_NAMES)
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(core_layer)!r})\n{script}", *names],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_import_closure_follows_lazy_imports_and_submodules(tmp_path: Path) -> None:
    pkg = tmp_path / "contextiq"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "lazy.py").write_text("X = 1\n")
    (pkg / "a.py").write_text("def f():\n    from contextiq.sub import lazy\n    return lazy.X\n")
    (pkg / "devonly.py").write_text("import contextiq.a\n")
    entry = tmp_path / "handler.py"
    entry.write_text("from contextiq.a import f\n")
    closure = {p.relative_to(tmp_path).as_posix() for p in build_layers.import_closure([entry], tmp_path)}
    assert closure == {"contextiq/__init__.py", "contextiq/a.py", "contextiq/sub/__init__.py", "contextiq/sub/lazy.py"}


def test_deps_layer_drops_grpc_and_protobuf_and_stays_within_its_budget(deps_layer: Path) -> None:
    for name in NEVER_IMPORTED:
        assert not (deps_layer / name).exists(), name
    assert not list(deps_layer.glob("grpcio-*")) and not list(deps_layer.glob("protobuf-*"))
    size_mb = build_layers.tree_size(deps_layer) / 1e6
    assert size_mb <= build_layers.DEPS_BUDGET_MB, f"deps layer is {size_mb:.1f} MB"


def test_auth_layer_holds_pyjwt_and_cryptography_within_its_budget(deps_layer: Path) -> None:
    auth = build_layers.AUTH_DIR / "python"
    for package in ("jwt", "cryptography"):
        assert (auth / package / "__init__.py").is_file(), package
    assert not (deps_layer / "jwt").exists() and not (deps_layer / "cryptography").exists()  # only the authorizer
    assert list(auth.glob("cryptography/hazmat/bindings/_rust.abi3.so")), "no aarch64 binary"
    size_mb = build_layers.tree_size(auth) / 1e6
    assert size_mb <= build_layers.AUTH_BUDGET_MB, f"auth layer is {size_mb:.1f} MB"


def test_nothing_left_in_the_deps_layer_imports_what_was_dropped(deps_layer: Path) -> None:
    offenders = []
    for path in (deps_layer / "opensearchpy").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_bytes())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in NEVER_IMPORTED]
    assert not offenders


def test_drop_distributions_removes_exactly_the_recorded_files(tmp_path: Path) -> None:
    def install(dist: str, files: dict[str, str]) -> None:
        info = tmp_path / f"{dist}-1.0.dist-info"
        info.mkdir()
        for relative, text in files.items():
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / relative).write_text(text)
        (info / "RECORD").write_text("".join(f"{r},sha256=x,1\n" for r in files) + f"{info.name}/RECORD,,\n")

    install("grpcio", {"grpc/__init__.py": "", "grpc/_cython/x.so": "bin"})
    install("protobuf", {"google/protobuf/__init__.py": ""})
    install("requests", {"requests/__init__.py": ""})
    (tmp_path / "google" / "other.py").write_text("")  # not recorded by protobuf: kept
    dropped = build_layers.drop_distributions(tmp_path, ("grpcio", "protobuf"))
    assert sorted(dropped) == ["grpcio", "protobuf"]
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["google/other.py", "requests-1.0.dist-info/RECORD", "requests/__init__.py"]


@pytest.mark.infra
def test_the_template_ships_the_built_layers(synthesized: dict[str, Synth]) -> None:
    synth = synthesized["dev"]
    manifest = json.loads((synth.outdir / "ContextIQ-dev.assets.json").read_text())
    sources = {asset["source"]["path"] for asset in manifest["files"].values()}
    keys = {
        json.dumps(layer["Properties"]["Content"]["S3Key"])
        for layer in synth.resources("AWS::Lambda::LayerVersion").values()
    }
    assert len(keys) == 3
    assert str(build_layers.CORE_DIR) in sources and str(build_layers.DEPS_DIR) in sources
    assert str(build_layers.AUTH_DIR) in sources
    assert str(ROOT / "layers" / "core") not in sources
