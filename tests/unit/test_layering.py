"""The arrows point down: handler -> api -> container -> services -> stores / ai -> models -> leaf modules.

Each package may import only from the layers below it (docs/design.md, "Module map"). A new upward
import fails here; the one known exception is listed with the reason it is tolerated.
"""

from __future__ import annotations

import ast
from pathlib import Path

import contextiq

PACKAGE = Path(contextiq.__file__).parent

# What each top-level part of the package must never import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "models": ("api", "handlers", "container", "services", "stores", "ai", "local", "evaluation", "cli"),
    "stores": ("api", "handlers", "container", "services", "local", "evaluation", "cli"),
    "ai": ("api", "handlers", "container", "services", "stores", "local", "evaluation", "cli"),
    "templating": ("api", "handlers", "container", "services", "stores", "ai", "models", "local", "evaluation", "cli"),
    "services": ("api", "handlers", "container", "local", "evaluation", "cli"),
    "container": ("api", "handlers", "local", "evaluation", "cli"),
    "api": ("handlers", "local", "evaluation", "cli"),
    "handlers": ("local", "evaluation", "cli"),
    "retry": ("api", "handlers", "container", "services", "stores", "ai", "models"),
    "errors": ("api", "handlers", "container", "services", "stores", "ai", "models"),
    "limits": ("api", "handlers", "container", "services", "stores", "ai", "models"),
    "definitions": ("api", "handlers", "container", "services", "stores", "ai", "models"),
}

# Known upward imports: (importer, imported) -> why it is tolerated for now.
KNOWN: dict[tuple[str, str], str] = {}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("contextiq.")}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module(path)
        part = importer.split(".")[1] if "." in importer else ""
        for imported in _imports(path):
            target = imported.split(".")[1]
            if target in FORBIDDEN.get(part, ()) and (importer, imported) not in KNOWN:
                upward.append(f"{importer} -> {imported}")
    assert upward == []


def test_the_known_exceptions_still_exist() -> None:
    """When an exception is fixed, drop it from KNOWN so it cannot come back unnoticed."""
    for importer, imported in KNOWN:
        path = PACKAGE.parent.joinpath(*importer.split(".")).with_suffix(".py")
        assert imported in _imports(path), f"{importer} no longer imports {imported}: remove it from KNOWN"
