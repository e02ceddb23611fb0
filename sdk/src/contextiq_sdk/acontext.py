"""``client.templates`` of :class:`AsyncClient` (same surface as context.py)."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from contextiq_sdk import models_context as x

if TYPE_CHECKING:
    from contextiq_sdk.aclient import AsyncClient


class Templates:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def create(
        self,
        name: str,
        body: str,
        *,
        description: str | None = None,
        variables: builtins.list[x.TemplateVariable | dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> x.Template:
        payload = x.TemplateCreate.model_validate(
            {
                "name": name,
                "body": body,
                "description": description,
                "variables": variables or [],
                "metadata": metadata or {},
                "ttl_seconds": ttl_seconds,
            }
        )
        return await self._c._call("create_template", body=payload, idempotency_key=idempotency_key)

    async def get(self, template_id: str, *, version: int | None = None) -> x.Template:
        """The latest version, or that ``version`` (``default`` is the built-in template)."""
        return await self._c._call("get_template", {"template_id": template_id}, params={"version": version})

    async def list(self, *, limit: int | None = None, next_token: str | None = None) -> x.TemplatePage:
        return await self._c._call("list_templates", params={"limit": limit, "next_token": next_token})

    def iter(self, *, page_size: int | None = None) -> AsyncIterator[x.Template]:
        return self._c._pages(lambda t: self.list(limit=page_size, next_token=t))

    async def update(self, template_id: str, *, version: int | None = None, **changes: Any) -> x.Template:
        """Change name, body, description, variables or metadata: a new version (``version`` is If-Match)."""
        payload = x.TemplatePatch.model_validate(changes)
        return await self._c._call("update_template", {"template_id": template_id}, body=payload, version=version)

    async def delete(self, template_id: str, *, version: int | None = None) -> None:
        await self._c._call("delete_template", {"template_id": template_id}, version=version)

    async def versions(
        self, template_id: str, *, limit: int | None = None, next_token: str | None = None
    ) -> x.TemplateVersionPage:
        params = {"limit": limit, "next_token": next_token}
        return await self._c._call("list_template_versions", {"template_id": template_id}, params=params)
