#!/usr/bin/env python3
"""Build the Lambda layers without Docker.

    python scripts/build_layers.py [--force]

deps: installs the runtime dependencies of pyproject.toml (``[project].dependencies``) as binary wheels
for Lambda's arm64 / CPython 3.12 runtime into ``layers/build/deps/python`` (the layer's asset
directory), then drops the distributions in ``UNUSED_DISTRIBUTIONS`` (opensearch-py 3.x requires
opensearch-protobufs, which pulls grpcio and protobuf, ~19 MB the HTTP client never imports). The
build is skipped when a hash of the requirement list and the recipe matches ``layers/build/deps.stamp``;
``--force`` rebuilds anyway.

auth: the ``auth`` extra of pyproject.toml (PyJWT with cryptography, ~15 MB) the same way into
``layers/build/auth/python``, stamped in ``layers/build/auth.stamp``. Only the authorizer function gets
it, so the other functions' cold starts and the deps layer's budget do not carry cryptography.

local: ``--local [--arch x86_64|arm64]`` builds ``layers/build/local-<arch>/python`` for ``sam local
invoke`` on this machine (docs/infrastructure.md, "SAM"): the deps and auth requirements plus what the
embedded stack needs in a container (numpy, from the ``local`` extra), for the host's architecture by
default, so the container runs natively. Never deployed.

core: copies from ``layers/core/python/contextiq`` only the modules the functions can import (the
import closure of ``functions/*/handler.py``, lazy imports included) into ``layers/build/core``, so
dev-only code (``evaluation/``, ``local/``, ``cli.py``) never ships. Always rebuilt (it is small).

boto3/botocore are kept in the layer (pinned by the resolution): pyproject requires ``boto3>=1.40``,
the runtime's bundled SDK lags behind and changes under us, and aws-xray-sdk pulls botocore anyway.
They cost about 30 MB of the 250 MB unzipped limit.
"""

from __future__ import annotations

import argparse
import ast
import fcntl
import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
BUILD_DIR = ROOT / "layers" / "build"
DEPS_DIR = BUILD_DIR / "deps"
TARGET = DEPS_DIR / "python"
STAMP = BUILD_DIR / "deps.stamp"
FUNCTIONS_DIR = ROOT / "functions"
CORE_SOURCE = ROOT / "layers" / "core" / "python"
CORE_DIR = BUILD_DIR / "core"
PACKAGE = "contextiq"
# Unzipped size budget of the deps layer (Lambda allows 250 MB for a function and all its layers).
DEPS_BUDGET_MB = 60
AUTH_DIR = BUILD_DIR / "auth"
AUTH_BUDGET_MB = 25

PYTHON_VERSION = "3.12"
IMPLEMENTATION = "cp"
# Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34): accept manylinux2014 .. 2_34 wheels.
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}  # Lambda architecture -> wheel platform machine


def platforms(architecture: str = "arm64") -> tuple[str, ...]:
    machine = MACHINES[architecture]
    return (f"manylinux2014_{machine}", f"manylinux_2_28_{machine}", f"manylinux_2_34_{machine}")


PLATFORMS = platforms("arm64")
# What the embedded stack (vector_index=embedded) needs beyond [project].dependencies, from the local extra.
LOCAL_LAYER_EXTRAS = ("numpy",)
# Bump when the build recipe changes in a way the requirement list does not show.
RECIPE_VERSION = 2
# Removed after installation: not needed at runtime.
PRUNE_DIRS = ("bin", "__pycache__")
# Installed as dependencies but never imported by the code (opensearch-py's optional gRPC transport):
# tests/infra/test_layers.py checks that nothing in the layer imports them.
UNUSED_DISTRIBUTIONS = ("opensearch-protobufs", "grpcio", "protobuf")


def requirements(pyproject: Path = PYPROJECT, extra: str | None = None) -> list[str]:
    """``[project].dependencies`` (or the ``extra`` optional dependencies), sorted for a stable fingerprint."""
    with pyproject.open("rb") as handle:
        project = tomllib.load(handle).get("project", {})
    deps = project.get("optional-dependencies", {}).get(extra, []) if extra else project.get("dependencies", [])
    if not deps:
        raise SystemExit(f"{pyproject} has no {f'[{extra}] extra' if extra else '[project].dependencies'}")
    return sorted(deps)


def host_architecture() -> str:
    """The Lambda architecture that runs natively here: arm64 on aarch64/arm64 machines, else x86_64."""
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def local_layer_dir(architecture: str, build_dir: Path = BUILD_DIR) -> Path:
    return build_dir / f"local-{architecture}"


def local_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """deps + auth + the ``LOCAL_LAYER_EXTRAS`` of the local extra (with their pins): the sam-local layer."""
    local = [
        spec
        for spec in requirements(pyproject, extra="local")
        if _normalize(re.split(r"[\[<>=!~;\s]", spec, maxsplit=1)[0]) in LOCAL_LAYER_EXTRAS
    ]
    if len(local) != len(LOCAL_LAYER_EXTRAS):
        raise SystemExit(f"the local extra of {pyproject} must list {', '.join(LOCAL_LAYER_EXTRAS)}")
    return sorted(requirements(pyproject) + requirements(pyproject, extra="auth") + local)


def fingerprint(reqs: list[str], wheel_platforms: tuple[str, ...] = PLATFORMS) -> str:
    recipe = {
        "requirements": reqs,
        "python": PYTHON_VERSION,
        "implementation": IMPLEMENTATION,
        "platforms": list(wheel_platforms),
        "recipe": RECIPE_VERSION,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def is_current(digest: str, build_dir: Path = BUILD_DIR, name: str = DEPS_DIR.name) -> bool:
    """True when the stamp of layer ``name`` matches ``digest`` and its directory is not empty."""
    stamp, target = build_dir / f"{name}.stamp", build_dir / name / TARGET.name
    return stamp.is_file() and stamp.read_text().strip() == digest and target.is_dir() and any(target.iterdir())


def pip_command(reqs: list[str], target: Path, wheel_platforms: tuple[str, ...] = PLATFORMS) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        "--implementation",
        IMPLEMENTATION,
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
    ]
    for wheel_platform in wheel_platforms:
        cmd += ["--platform", wheel_platform]
    return cmd + reqs


def prune(target: Path) -> None:
    for name in PRUNE_DIRS:
        for path in sorted(target.rglob(name), reverse=True):
            if path.is_dir():
                shutil.rmtree(path)
    for path in target.rglob("*.pyc"):
        path.unlink()


def _normalize(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def drop_distributions(target: Path, names: tuple[str, ...] = UNUSED_DISTRIBUTIONS) -> list[str]:
    """Delete every file an installed distribution's RECORD lists (and then its empty directories)."""
    wanted = {_normalize(n) for n in names}
    dropped = []
    for info in sorted(target.glob("*.dist-info")):
        dist = _normalize(info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        if dist not in wanted:
            continue
        for line in (info / "RECORD").read_text().splitlines():
            relative = line.split(",", 1)[0]
            path = (target / relative).resolve()
            if relative and path.is_relative_to(target.resolve()) and path.is_file():
                path.unlink()
        shutil.rmtree(info, ignore_errors=True)
        dropped.append(dist)
    for directory in sorted((p for p in target.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(directory.iterdir()):
            directory.rmdir()
    return dropped


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _module_path(source: Path, module: str) -> Path | None:
    base = source.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _imported_modules(path: Path) -> set[str]:
    """Every ``contextiq`` module ``path`` imports, at top level or lazily inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # submodules
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


def import_closure(entry_points: list[Path], source: Path = CORE_SOURCE) -> set[Path]:
    """The package files reachable from ``entry_points`` (every parent ``__init__.py`` included)."""
    files: set[Path] = set()
    pending = [m for entry in entry_points for m in _imported_modules(entry)]
    seen: set[str] = set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):
            path = _module_path(source, ".".join(parts[:depth]))
            if path is not None and path not in files:
                files.add(path)
                pending.extend(_imported_modules(path))
    return files


def handler_files(functions_dir: Path = FUNCTIONS_DIR) -> list[Path]:
    return sorted(functions_dir.glob("*/handler.py"))


def build_core(source: Path = CORE_SOURCE, build_dir: Path = BUILD_DIR) -> Path:
    """Copy the functions' import closure into ``<build_dir>/core/python``; return that directory."""
    files = import_closure(handler_files(), source)
    core = build_dir / CORE_DIR.name
    staging = build_dir / "core.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    for path in sorted(files):
        destination = staging / "python" / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    shutil.rmtree(core, ignore_errors=True)
    staging.rename(core)
    return core / "python"


def build_local(architecture: str | None = None, force: bool = False, build_dir: Path = BUILD_DIR) -> Path:
    """The sam-local layer (deps + auth + numpy) for ``architecture`` (default: this machine's)."""
    architecture = architecture or host_architecture()
    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:  # not the core layer: scripts/sam_template.py builds it (tests share the session's)
            name = local_layer_dir(architecture, build_dir).name
            _build(force, build_dir, local_requirements(), name=name, architecture=architecture)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return local_layer_dir(architecture, build_dir)


def build(force: bool = False, build_dir: Path = BUILD_DIR, reqs: list[str] | None = None) -> bool:
    """Build the layer under ``build_dir`` if needed. True when it (re)built, False when up to date.

    Concurrent callers (pytest-xdist workers, two terminals) serialize on a lock file: the second one
    finds the stamp current and returns.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            build_core(build_dir=build_dir)
            if reqs is not None:
                return _build(force, build_dir, reqs)
            built = _build(force, build_dir, requirements())
            return _build(force, build_dir, requirements(extra="auth"), name=AUTH_DIR.name) or built
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(
    force: bool, build_dir: Path, reqs: list[str], name: str = DEPS_DIR.name, architecture: str = "arm64"
) -> bool:
    wheel_platforms = platforms(architecture)
    digest = fingerprint(reqs, wheel_platforms)
    deps_dir, stamp = build_dir / name, build_dir / f"{name}.stamp"
    target = deps_dir / TARGET.name
    if not force and is_current(digest, build_dir, name):
        print(f"{name} layer up to date ({target}, {digest[:12]})")
        return False
    print(f"building {name} layer for {IMPLEMENTATION}{PYTHON_VERSION} {architecture}: {', '.join(reqs)}")
    staging = build_dir / f"{name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / TARGET.name).mkdir(parents=True)
    subprocess.run(pip_command(reqs, staging / TARGET.name, wheel_platforms), check=True)
    prune(staging / TARGET.name)
    dropped = drop_distributions(staging / TARGET.name)
    print(f"dropped unused distributions: {', '.join(dropped) or 'none'}")
    # Swap in the finished build, then write the stamp: an interrupted build never looks current.
    stamp.unlink(missing_ok=True)
    shutil.rmtree(deps_dir, ignore_errors=True)
    staging.rename(deps_dir)
    stamp.write_text(digest + "\n")
    size = tree_size(target)
    budget = {AUTH_DIR.name: AUTH_BUDGET_MB, DEPS_DIR.name: DEPS_BUDGET_MB}.get(name)
    print(f"built {target} ({size / 1e6:.1f} MB unzipped{f', budget {budget} MB' if budget else ''})")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    parser.add_argument("--local", action="store_true", help="build the sam-local layer instead (see above)")
    parser.add_argument("--arch", choices=sorted(MACHINES), help="with --local: default this machine's")
    args = parser.parse_args(argv)
    if args.local:
        build_core()
        print(build_local(args.arch, force=args.force) / TARGET.name)
        return 0
    build(force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
