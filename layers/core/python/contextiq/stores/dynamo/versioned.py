"""Records kept as a head item plus one immutable item per version (templates; the shape memories and
procedures share). A change is one transaction: the head is written only if it is still at the
version the writer read, and the new version item only if it does not exist yet, so two writers can
never both make version N, and no version is ever rewritten."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from contextiq.errors import VersionConflictError
from contextiq.stores.dynamo.base import (
    PageTokens,
    from_item,
    is_condition_failure,
    is_transaction_conflict,
    query_full_page,
)
from contextiq.stores.dynamo.base import to_item as to_attributes
from contextiq.stores.dynamo.base import values as attribute_values

VERSION_WIDTH = 10


def version_sk(version: int) -> str:
    return f"V#{version:0{VERSION_WIDTH}d}"


class VersionedTable:
    def __init__(self, client: Any, table_name: str, tokens: PageTokens) -> None:
        self.ddb = client
        self.table = table_name
        self.tokens = tokens

    def write(self, head: dict[str, Any], expected_version: int | None, version_item: dict[str, Any]) -> None:
        """Put ``head`` (new when ``expected_version`` is None, else over that live version) and the
        immutable ``version_item``, atomically; a lost race raises VersionConflictError."""
        put_head: dict[str, Any] = {"TableName": self.table, "Item": to_attributes(head)}
        if expected_version is None:
            put_head["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put_head["ConditionExpression"] = "version = :expected AND attribute_not_exists(deleted_time)"
            put_head["ExpressionAttributeValues"] = attribute_values(expected=expected_version)
        put_version = {
            "TableName": self.table,
            "Item": to_attributes(version_item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            self.ddb.transact_write_items(TransactItems=[{"Put": put_head}, {"Put": put_version}])
        except ClientError as err:
            if is_condition_failure(err) or is_transaction_conflict(err):
                raise VersionConflictError("the record changed since it was read") from err
            raise

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        resp = self.ddb.get_item(TableName=self.table, Key=to_attributes({"pk": pk, "sk": sk}), ConsistentRead=True)
        raw = resp.get("Item")
        return from_item(raw) if raw else None

    def page(
        self, kwargs: dict[str, Any], binding: str, pk: str, limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a Query on partition ``pk`` (FilterExpression-aware), with a bound page token."""
        kwargs = {"TableName": self.table, "ConsistentRead": True, **kwargs}
        start = self.tokens.decode(token, binding, {"pk": pk})
        if start:
            kwargs["ExclusiveStartKey"] = start
        raw, last = query_full_page(self.ddb, kwargs, limit)
        return [from_item(i) for i in raw], self.tokens.encode(last, binding)
