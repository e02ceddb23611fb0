#!/usr/bin/env python3
"""Build the Lambda dependencies layer without Docker.

    python scripts/build_layers.py [--force]

Installs the runtime dependencies of pyproject.toml (``[project].dependencies``) as binary wheels for
Lambda's arm64 / CPython 3.12 runtime into ``layers/build/deps/python`` (the layer's asset directory).
The build is skipped when a hash of the requirement list and the target platform matches
``layers/build/deps.stamp``; ``--force`` rebuilds anyway.

The second layer needs no build: ``layers/core`` (``python/contextiq``) is used as the asset as-is.

boto3/botocore are kept in the layer (pinned by the resolution): pyproject requires ``boto3>=1.40``,
the runtime's bundled SDK lags behind and changes under us, and aws-xray-sdk pulls botocore anyway.
They cost about 30 MB of the 250 MB unzipped limit.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
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

PYTHON_VERSION = "3.12"
IMPLEMENTATION = "cp"
# Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34): accept manylinux2014 .. 2_34 wheels.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64")
# Bump when the build recipe changes in a way the requirement list does not show.
RECIPE_VERSION = 1
# Removed after installation: not needed at runtime.
PRUNE_DIRS = ("bin", "__pycache__")


def requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """``[project].dependencies``, as written (sorted for a stable fingerprint)."""
    with pyproject.open("rb") as handle:
        data = tomllib.load(handle)
    deps = data.get("project", {}).get("dependencies", [])
    if not deps:
        raise SystemExit(f"{pyproject} has no [project].dependencies")
    return sorted(deps)


def fingerprint(reqs: list[str]) -> str:
    recipe = {
        "requirements": reqs,
        "python": PYTHON_VERSION,
        "implementation": IMPLEMENTATION,
        "platforms": list(PLATFORMS),
        "recipe": RECIPE_VERSION,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def is_current(digest: str, build_dir: Path = BUILD_DIR) -> bool:
    """True when ``build_dir``'s stamp matches ``digest`` and the layer directory is not empty."""
    stamp, target = build_dir / STAMP.name, build_dir / DEPS_DIR.name / TARGET.name
    return stamp.is_file() and stamp.read_text().strip() == digest and target.is_dir() and any(target.iterdir())


def pip_command(reqs: list[str], target: Path) -> list[str]:
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
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    return cmd + reqs


def prune(target: Path) -> None:
    for name in PRUNE_DIRS:
        for path in sorted(target.rglob(name), reverse=True):
            if path.is_dir():
                shutil.rmtree(path)
    for path in target.rglob("*.pyc"):
        path.unlink()


def build(force: bool = False, build_dir: Path = BUILD_DIR, reqs: list[str] | None = None) -> bool:
    """Build the layer under ``build_dir`` if needed. True when it (re)built, False when up to date.

    Concurrent callers (pytest-xdist workers, two terminals) serialize on a lock file: the second one
    finds the stamp current and returns.
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _build(force, build_dir, requirements() if reqs is None else reqs)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(force: bool, build_dir: Path, reqs: list[str]) -> bool:
    digest = fingerprint(reqs)
    deps_dir, stamp = build_dir / DEPS_DIR.name, build_dir / STAMP.name
    target = deps_dir / TARGET.name
    if not force and is_current(digest, build_dir):
        print(f"deps layer up to date ({target}, {digest[:12]})")
        return False
    print(f"building deps layer for {IMPLEMENTATION}{PYTHON_VERSION} arm64: {', '.join(reqs)}")
    staging = build_dir / "deps.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / TARGET.name).mkdir(parents=True)
    subprocess.run(pip_command(reqs, staging / TARGET.name), check=True)
    prune(staging / TARGET.name)
    # Swap in the finished build, then write the stamp: an interrupted build never looks current.
    stamp.unlink(missing_ok=True)
    shutil.rmtree(deps_dir, ignore_errors=True)
    staging.rename(deps_dir)
    stamp.write_text(digest + "\n")
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(f"built {target} ({size / 1e6:.1f} MB unzipped)")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    args = parser.parse_args(argv)
    build(force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
