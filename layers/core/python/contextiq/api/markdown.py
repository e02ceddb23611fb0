"""A procedure as a portable skill document (Markdown with YAML front matter).

The front matter carries ``name`` and ``description`` (what skill loaders such as Agent Skills read) and
the rest of the identity; values are JSON strings, which YAML reads as they are, so any text is safe.
"""

from __future__ import annotations

import json

from contextiq.models.procedures import Procedure

MEDIA_TYPE = "text/markdown"


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _line(text: str) -> str:
    """One Markdown line: a newline inside a step would end its list item."""
    return " ".join(text.split())


def procedure_markdown(p: Procedure) -> str:
    lines = [
        "---",
        f"name: {_q(p.name)}",
        f"description: {_q(p.description)}",
        f"kind: {p.kind.value}",
        f"status: {p.status.value}",
        f"id: {p.id}",
        f"version: {p.version}",
    ]
    if p.parameters:
        lines.append("parameters:")
        for param in p.parameters:
            lines.append(f"  - name: {param.name}")
            lines.append(f"    required: {'true' if param.required else 'false'}")
            if param.description:
                lines.append(f"    description: {_q(param.description)}")
    if p.stats.success_rate is not None:
        lines.append(f"success_rate: {p.stats.success_rate}")
    lines += ["---", "", f"# {_line(p.name)}", "", p.description, ""]
    if p.parameters:
        lines += ["## Parameters", ""]
        for param in p.parameters:
            need = "required" if param.required else "optional"
            lines.append(f"- `{param.name}` ({need})" + (f": {param.description}" if param.description else ""))
        lines.append("")
    lines += ["## Steps", ""]
    for n, step in enumerate(p.steps, 1):
        lines.append(f"{n}. {_line(step.instruction)}")
        if step.tool:
            lines.append(f"   - Tool: `{step.tool}`")
        if step.arguments:
            lines.append(f"   - Arguments: `{json.dumps(step.arguments, ensure_ascii=False)}`")
        if step.expected:
            lines.append(f"   - Expected: {_line(step.expected)}")
    if p.pitfalls:
        lines += ["", "## Pitfalls", ""]
        lines += [f"- {_line(pitfall.note)}" for pitfall in p.pitfalls]
    return "\n".join(lines) + "\n"
