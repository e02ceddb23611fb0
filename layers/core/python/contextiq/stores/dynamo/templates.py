"""Prompt templates and their versions in the templates table.

    pk = T#<tenant>#TEMPLATES      sk = TPL#<template_id>   the latest version (head); listing = one Query
    pk = T#<tenant>#TPL#<id>       sk = V#<version:010d>    every version, immutable, in order

A delete tombstones the head (``deleted_time``; DynamoDB TTL removes it after TOMBSTONE_DAYS) and adds a
DELETED version; the versions stay readable. A template with a TTL gives its head and versions the same
``expire_at``; reads treat an expired head as gone before DynamoDB's lazy TTL removes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contextiq.ids import epoch, isoformat
from contextiq.models.templates import Template, TemplateVersion
from contextiq.stores.dynamo.base import PageTokens, values
from contextiq.stores.dynamo.versioned import VersionedTable, version_sk

TOMBSTONE_DAYS = 30


def heads_pk(tenant: str) -> str:
    return f"T#{tenant}#TEMPLATES"


def versions_pk(tenant: str, template_id: str) -> str:
    return f"T#{tenant}#TPL#{template_id}"


@dataclass(frozen=True)
class StoredTemplate:
    template: Template
    deleted: bool = False


def _head_item(tenant: str, t: Template, deleted: datetime | None = None) -> dict[str, Any]:
    expire = t.expire_time
    if deleted is not None:
        expire = deleted + timedelta(days=TOMBSTONE_DAYS)
    return {
        "pk": heads_pk(tenant),
        "sk": f"TPL#{t.id}",
        "tenant": tenant,
        "version": t.version,
        "body": t.model_dump_json(),
        "deleted_time": isoformat(deleted) if deleted else None,
        "expire_at": epoch(expire) if expire else None,
    }


def _version_item(tenant: str, v: TemplateVersion) -> dict[str, Any]:
    return {
        "pk": versions_pk(tenant, v.id),
        "sk": version_sk(v.version),
        "tenant": tenant,
        "version": v.version,
        "body": v.model_dump_json(),
        "expire_at": epoch(v.expire_time) if v.expire_time else None,
    }


class TemplateStore:
    def __init__(self, client: Any, table_name: str, tokens: PageTokens) -> None:
        self._table = VersionedTable(client, table_name, tokens)

    def create(self, tenant: str, version: TemplateVersion) -> None:
        head = Template.model_validate(version.model_dump(exclude={"action", "actor"}))
        self._table.write(_head_item(tenant, head), None, _version_item(tenant, version))

    def update(self, tenant: str, version: TemplateVersion, expected_version: int) -> None:
        head = Template.model_validate(version.model_dump(exclude={"action", "actor"}))
        self._table.write(_head_item(tenant, head), expected_version, _version_item(tenant, version))

    def tombstone(self, tenant: str, version: TemplateVersion, expected_version: int, now: datetime) -> None:
        head = Template.model_validate(version.model_dump(exclude={"action", "actor"}))
        self._table.write(_head_item(tenant, head, deleted=now), expected_version, _version_item(tenant, version))

    def get(self, tenant: str, template_id: str) -> StoredTemplate | None:
        item = self._table.get(heads_pk(tenant), f"TPL#{template_id}")
        if item is None:
            return None
        return StoredTemplate(Template.model_validate_json(item["body"]), deleted=bool(item.get("deleted_time")))

    def get_version(self, tenant: str, template_id: str, version: int) -> TemplateVersion | None:
        item = self._table.get(versions_pk(tenant, template_id), version_sk(version))
        return TemplateVersion.model_validate_json(item["body"]) if item else None

    def list_all(
        self, tenant: str, limit: int, token: str | None, *, now: datetime
    ) -> tuple[list[Template], str | None]:
        pk = heads_pk(tenant)
        kwargs = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "FilterExpression": "attribute_not_exists(deleted_time) AND "
            "(attribute_not_exists(expire_at) OR expire_at > :now)",
            "ExpressionAttributeValues": values(pk=pk, p="TPL#", now=epoch(now)),
        }
        items, next_token = self._table.page(kwargs, json.dumps(["templates", tenant]), pk, limit, token)
        return [Template.model_validate_json(i["body"]) for i in items], next_token

    def versions(
        self, tenant: str, template_id: str, limit: int, token: str | None
    ) -> tuple[list[TemplateVersion], str | None]:
        pk = versions_pk(tenant, template_id)
        kwargs = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :v)",
            "ExpressionAttributeValues": values(pk=pk, v="V#"),
        }
        binding = json.dumps(["template-versions", tenant, template_id])
        items, next_token = self._table.page(kwargs, binding, pk, limit, token)
        return [TemplateVersion.model_validate_json(i["body"]) for i in items], next_token


def expired(t: Template, now: datetime) -> bool:
    return t.expire_time is not None and t.expire_time.astimezone(UTC) <= now


__all__ = ["StoredTemplate", "TemplateStore", "expired"]
