#!/usr/bin/env python3
"""Synthesize the ``sam local invoke`` variant of a stage (docs/infrastructure.md, "SAM local").

    python scripts/sam_template.py dev [--arch x86_64|arm64] [--out cdk.out/sam]

Builds ``layers/build/local-<arch>`` (deps + auth + numpy for this machine's architecture; see
scripts/build_layers.py) and the core layer, then writes ``<out>/ContextIQ-<stage>.template.json``: the
stage's resources and logical ids, with every function on that architecture and layer, declaring the
variables ``scripts/sam_env.py`` overrides (infra/local_invoke.py). Assets are referenced in place (no
copies). Never deploy it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

DEFAULT_OUT = ROOT / "cdk.out" / "sam"


def context(stage: str, architecture: str) -> dict[str, Any]:
    values = dict(json.loads((ROOT / "cdk.json").read_text())["context"])
    values.update(
        {
            "stage": stage,
            "local_invoke": architecture,
            "aws:cdk:disable-asset-staging": True,  # reference the layers in place (no 100 MB copies)
            "aws:cdk:enable-asset-metadata": True,  # aws:asset:path on every function and layer: what SAM reads
        }
    )
    return values


def synth(stage: str, out: Path = DEFAULT_OUT, architecture: str | None = None, build: bool = True) -> Path:
    """Write the variant's template; return its path."""
    from infra.app import build_app
    from scripts.build_layers import build_core, build_local, host_architecture

    architecture = architecture or host_architecture()
    if build:
        build_core()
        build_local(architecture)
    app = build_app(context(stage, architecture), outdir=str(out), nag=False)
    app.synth()
    return out / f"ContextIQ-{stage}.template.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["dev", "staging", "prod"])
    parser.add_argument("--arch", choices=["x86_64", "arm64"], help="default: this machine's")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    print(synth(args.stage, args.out, args.arch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
