"""Write the API's OpenAPI document to docs/openapi.json (a test checks it is current)."""

from __future__ import annotations

import json
from pathlib import Path

from contextiq.api.openapi import full_openapi

TARGET = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def render() -> str:
    return json.dumps(full_openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
