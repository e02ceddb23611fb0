"""How the local runtime drives moto's DynamoDB: atomic requests, and a cost per request that does not
grow with the data already stored.

Three patches, each small and covered by ``tests/integration/test_local_moto_scale.py``:

* **One request at a time.** Real DynamoDB applies each request (a conditional write, a transaction)
  atomically. moto evaluates conditions and applies writes in Python without a lock, so concurrent
  requests from the server's threads could interleave inside one request. A re-entrant lock around
  moto's DynamoDB request handling restores per-request atomicity.
* **Transactions undo item by item.** moto 5.x ``transact_write_items`` deep-copies every table a
  transaction touches, on every call, as a backup in case one action fails. An append is one
  TransactWriteItems, so each append copied the whole sessions table: latency and (through the
  garbage the copies leave) memory grew with the data, quadratically overall. We make that backup
  free (``Table.__deepcopy__`` returns the table itself while a transaction runs) and record instead
  the before-image of each item the transaction writes; on failure those items, and the stream
  records the transaction produced, are put back. The result is the same all-or-nothing behaviour.
* **Queries read one partition.** moto's ``Table.query`` sorts *every item of the table* and then
  filters on the partition key, for the table and for a GSI alike. While a query runs we hand it only
  the queried partition: the table's own dict for the base table, and for a GSI a map from GSI
  partition value to item keys that we keep up to date on every write (stale entries are dropped
  when read, since moto updates items in place).

Shard iterators expire 15 minutes after moto returns them, as in DynamoDB Streams (moto kept every
one, and a poller gets a new one per GetRecords call).

Stream shards keep at most ``STREAM_RECORDS_KEPT`` records (DynamoDB keeps 24 hours): older records
are trimmed and sequence numbers keep counting, so a reader that fell further behind resumes at the
oldest record kept.

Every patch is written against moto 5.2.x; ``pyproject.toml`` pins the range.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.RLock()
_STATE = threading.local()
STREAM_RECORDS_KEPT = 10_000

# Called, under the request lock, after each DynamoDB request that changed items, with the
# (table, hash_key, range_key) of every item it changed (see local/journal.py).
RequestListener = Callable[[list[tuple[Any, Any, Any]]], None]
_listeners: list[RequestListener] = []


def add_request_listener(listener: RequestListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def remove_request_listener(listener: RequestListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def dynamodb_lock() -> threading.RLock:
    """The lock every moto DynamoDB request holds; hold it to read or load tables consistently."""
    return _LOCK


def patch_moto() -> None:
    """Apply every patch once (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard, Table
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_contextiq_patched", False):
        return
    _untrack_instances()
    _serialize(DynamoHandler)
    _undo_transactions(DynamoDBBackend, Table)
    _partition_queries(Table)
    _track_writes(DynamoDBBackend, Table)
    _trim_streams(StreamShard)
    _plain_json_items()
    _cache_update_expressions()
    _expire_shard_iterators()
    _plain_json_stream_records()
    _pack_stream_records(StreamShard)
    _intern_attribute_names()
    DynamoHandler._contextiq_patched = True  # type: ignore[attr-defined]


# Older name, kept for callers written before the other patches existed.
serialize_dynamodb_requests = patch_moto


def _serialize(handler: Any) -> None:
    original = handler.call_action

    def call_action(self: Any) -> Any:
        with _LOCK:
            _STATE.touched = {}
            try:
                return original(self)
            finally:
                touched, _STATE.touched = _STATE.touched, None
                if touched:
                    for listener in list(_listeners):
                        listener(list(touched.values()))

    handler.call_action = call_action


def _changed(table: Any, hash_key: Any, range_key: Any) -> None:
    undo: dict[tuple[int, Any, Any], Any] | None = getattr(_STATE, "undo", None)
    if undo is not None:
        key = (id(table), hash_key, range_key)
        if key not in undo:
            undo[key] = (table, hash_key, range_key, _STATE.before)
    gsi = getattr(table, "_ciq_gsi", None)
    if gsi is not None:
        item = table.get_item(hash_key, range_key) if range_key is not None or not table.range_key_attr else None
        if item is not None:
            for attr, partitions in gsi.items():
                value = item.attrs.get(attr)
                if value is not None:
                    partitions.setdefault(value, {})[(hash_key, range_key)] = None
    touched: dict[tuple[int, Any, Any], tuple[Any, Any, Any]] | None = getattr(_STATE, "touched", None)
    if touched is not None:
        touched[(id(table), hash_key, range_key)] = (table, hash_key, range_key)


def _track_writes(backend: Any, table_cls: Any) -> None:
    """Every item write of a request goes through Table.put_item, Table.delete_item or backend.update_item."""
    put, delete, update = table_cls.put_item, table_cls.delete_item, backend.update_item

    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        from moto.dynamodb.models.dynamo_type import DynamoType

        hash_key = DynamoType(item_attrs[self.hash_key_attr]) if self.hash_key_attr in item_attrs else None
        range_key = DynamoType(item_attrs[self.range_key_attr]) if self.range_key_attr in item_attrs else None
        _STATE.before = _before(self, hash_key, range_key)
        result = put(self, item_attrs, *args, **kwargs)
        _changed(self, result.hash_key, result.range_key)
        return result

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        _STATE.before = _before(self, hash_key, range_key)
        result = delete(self, hash_key, range_key)
        if result is not None:
            _changed(self, hash_key, range_key)
        return result

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        table = self.get_table(table_name)
        hash_key, range_key = self.get_keys_value(table, key)
        _STATE.before = _before(table, hash_key, range_key)
        result = update(self, table_name, key, *args, **kwargs)
        _changed(table, result.hash_key, result.range_key)
        return result

    table_cls.put_item, table_cls.delete_item, backend.update_item = put_item, delete_item, update_item


def _before(table: Any, hash_key: Any, range_key: Any) -> Any:
    """A copy of the item as it is now (only needed while a transaction may have to roll back)."""
    import copy

    if getattr(_STATE, "undo", None) is None or hash_key is None:
        return None
    if table.range_key_attr and range_key is None:
        return None
    current = table.get_item(hash_key, range_key)
    return copy.deepcopy(current) if current is not None else None


def _undo_transactions(backend: Any, table_cls: Any) -> None:
    original = backend.transact_write_items

    def table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_STATE, "undo", None) is not None:
            return self  # moto's whole-table backup: replaced by the item undo log below
        return _default_deepcopy(self, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        shards = [
            (t.stream_shard, t.stream_shard.starting_sequence_number + len(t.stream_shard.items))
            for t in self.tables.values()
            if t.stream_shard
        ]
        _STATE.undo = {}
        try:
            original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, before in _STATE.undo.values():
                _restore(table, hash_key, range_key, before)
            for shard, next_sequence in shards:
                del shard.items[max(0, next_sequence - shard.starting_sequence_number) :]
            raise
        finally:
            undone = _STATE.undo
            _STATE.undo = None
        del undone

    table_cls.__deepcopy__ = table_deepcopy
    backend.transact_write_items = transact_write_items


def _default_deepcopy(obj: Any, memo: dict[int, Any]) -> Any:
    import copy

    cls = obj.__class__
    clone = cls.__new__(cls)
    memo[id(obj)] = clone
    for key, value in obj.__dict__.items():
        setattr(clone, key, copy.deepcopy(value, memo))
    return clone


def _restore(table: Any, hash_key: Any, range_key: Any, before: Any) -> None:
    if range_key is not None:
        if before is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = before
    elif before is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = before
    undo = getattr(_STATE, "undo", None)
    _STATE.undo = None  # the restore itself is not a transactional change
    try:
        _changed(table, hash_key, range_key)
    finally:
        _STATE.undo = undo


def _partition_queries(table_cls: Any) -> None:
    original_query, original_all_items = table_cls.query, table_cls.all_items

    def all_items(self: Any) -> list[Any]:
        candidates = getattr(_STATE, "partition", None)
        if candidates is None or candidates[0] is not self:
            return list(original_all_items(self))
        items = list(candidates[1]())
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        with _only_partition(self, _partition(self, hash_key, index_name, kwargs.get("hash_key_conditions"))):
            return original_query(self, hash_key, *args, **kwargs)

    table_cls.all_items, table_cls.query = all_items, query


def _partition(table: Any, hash_key: Any, index_name: str | None, conditions: Any) -> Callable[[], Any] | None:
    """A function listing the items a query can match, or None to let moto look at every item."""
    if index_name is None:
        if hash_key is None or not table.range_key_attr:
            return None
        return lambda: list(table.items[hash_key].values()) if hash_key in table.items else []
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None
    hash_attrs = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    if len(hash_attrs) != 1:
        return None
    attr = hash_attrs[0]
    value = dict(conditions).get(attr) if conditions else hash_key
    if value is None:
        return None
    partitions = _gsi_map(table, attr)

    def items() -> Iterator[Any]:
        keys = partitions.get(value, {})
        for key in list(keys):
            item = table.get_item(*key) if key[1] is not None else table.items.get(key[0])
            current = None if item is None else item.attrs.get(attr)
            if current is None or current != value:
                keys.pop(key, None)  # deleted, or its GSI key changed since
                continue
            yield item

    return items


def _gsi_map(table: Any, attr: str) -> dict[Any, dict[tuple[Any, Any], None]]:
    gsi: dict[str, dict[Any, dict[tuple[Any, Any], None]]] | None = getattr(table, "_ciq_gsi", None)
    if gsi is None:
        gsi = table._ciq_gsi = {}
    if attr not in gsi:
        partitions: dict[Any, dict[tuple[Any, Any], None]] = {}
        for item in original_all(table):
            value = item.attrs.get(attr)
            if value is not None:
                partitions.setdefault(value, {})[(item.hash_key, item.range_key)] = None
        gsi[attr] = partitions
    return gsi[attr]


def original_all(table: Any) -> Iterator[Any]:
    """Every item of a moto table, unsorted."""
    for entry in list(table.items.values()):
        if table.range_key_attr:
            yield from list(entry.values())
        else:
            yield entry


@contextmanager
def _only_partition(table: Any, items: Callable[[], Any] | None) -> Iterator[None]:
    previous = getattr(_STATE, "partition", None)
    _STATE.partition = (table, items) if items is not None else None
    try:
        yield
    finally:
        _STATE.partition = previous


def _trim_streams(shard_cls: Any) -> None:
    original_add, original_get = shard_cls.add, shard_cls.get

    def add(self: Any, old: Any, new: Any) -> None:
        original_add(self, old, new)
        excess = len(self.items) - STREAM_RECORDS_KEPT
        if excess > 0:
            del self.items[:excess]
            self.starting_sequence_number += excess

    def get(self: Any, start: int, quantity: int) -> Any:
        return original_get(self, max(start, self.starting_sequence_number), quantity)

    shard_cls.add, shard_cls.get = add, get


# Item operations whose results moto already holds in DynamoDB's wire format (AttributeValue maps,
# numbers as strings, binary as base64): nothing for the shape-driven serializer to convert.
PLAIN_JSON_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


@contextmanager
def without_fast_paths() -> Iterator[None]:
    """moto's own response serializer and expression parsing, in this thread (tests compare both)."""
    previous = getattr(_STATE, "fast_paths_off", False)
    _STATE.fast_paths_off = True
    try:
        yield
    finally:
        _STATE.fast_paths_off = previous


def _plain_json_items() -> None:
    """moto 5.1+ serialises every response by walking the operation's output shape in Python, about a
    third of moto's time on an item request. For the item operations above the result is already wire
    JSON, so it is dumped as is (None values dropped: DynamoDB never sends null, and botocore would
    hand a present-but-None key to the caller). Errors and every other operation keep moto's serializer;
    tests/integration/test_local_moto_scale.py compares both paths through boto3."""
    import json

    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if getattr(_STATE, "fast_paths_off", False) or context.operation_model.name not in PLAIN_JSON_OPERATIONS:
            return original(self, context)
        result = self.result
        if not isinstance(result, dict):
            return original(self, context)
        try:
            body = json.dumps(_without_none(result), separators=(",", ":"), default=_blob)
        except TypeError:  # something the wire format needs converting: moto knows how
            return original(self, context)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def _blob(value: Any) -> str:
    """Binary attribute values, base64 as on the wire (moto's serializer does the same)."""
    import base64

    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(type(value).__name__)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _cache_update_expressions() -> None:
    """moto tokenises and parses an UpdateExpression two or three times per write. The tree depends on
    the expression text alone (names and values are applied later, by a validator that works on its
    own deep copy), so parsed trees are cached by text."""
    import functools

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    original = UpdateExpressionParser.make.__func__

    @functools.lru_cache(maxsize=512)
    def parse(expression: str) -> Any:
        return original(UpdateExpressionParser, expression)

    def make(cls: Any, expression: str) -> Any:
        if cls is not UpdateExpressionParser or getattr(_STATE, "fast_paths_off", False):
            return original(cls, expression)
        return parse(expression)

    UpdateExpressionParser.make = classmethod(make)


SHARD_ITERATOR_SECONDS = 15 * 60
# Iterators kept at most, newest first (on top of the 15 minutes): each is ~1.5 KB, and the local stream
# pollers (8 shard readers) create one per GetRecords call, several per second under a write load.
SHARD_ITERATORS_KEPT = 1_000


def _clock() -> float:
    import time

    return time.monotonic()


def _expire_shard_iterators() -> None:
    """moto's Streams backend keeps every shard iterator it ever returned, and GetRecords returns a new
    one on each call, so a stream poller grows the process by ~1.5 KB per call forever. DynamoDB Streams
    expires an iterator 15 minutes after returning it (API_streams_GetShardIterator): we do the same,
    forgetting iterators in creation order (the backend's dict keeps insertion order) and answering an
    expired one with ExpiredIteratorException, as DynamoDB Streams does. Fifteen minutes of a busy
    server's polling is still tens of thousands of iterators (~100 MB), so beyond the newest
    ``SHARD_ITERATORS_KEPT`` the oldest expire early too; a reader holds one current iterator per shard,
    always among the newest, and one that is forgotten gets ExpiredIteratorException and starts again
    after its last record (local/streams.py)."""
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

    original_init, original_get_records = ShardIterator.__init__, DynamoDBStreamsBackend.get_records

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.ciq_created = _clock()

    def forget_expired(backend: Any) -> None:
        iterators = backend.shard_iterators
        oldest = _clock() - SHARD_ITERATOR_SECONDS
        excess = len(iterators) - SHARD_ITERATORS_KEPT
        while iterators:
            first = next(iter(iterators))
            if excess <= 0 and getattr(iterators[first], "ciq_created", oldest) > oldest:
                return
            del iterators[first]
            excess -= 1

    def get_records(self: Any, iterator_arn: str, limit: int) -> Any:
        forget_expired(self)
        if iterator_arn not in self.shard_iterators:
            raise JsonRESTError("ExpiredIteratorException", "The provided iterator exceeds the maximum age allowed.")
        return original_get_records(self, iterator_arn, limit)

    ShardIterator.__init__ = init  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]


def _plain_json_stream_records() -> None:
    """GetRecords answers with DynamoDB Streams records that moto already holds as wire JSON (the item
    images of each record are AttributeValue maps); only ``ApproximateCreationDateTime`` is a datetime.
    Walking them with moto's shape-driven serializer was the largest single cost of a server with its
    stream pollers running (docs/local-runtime.md, "Throughput"), so they are dumped directly, the
    timestamp converted by moto's own converter. Errors keep moto's path; tests compare both through
    boto3 (tests/integration/test_local_moto_speed.py)."""
    import json

    from botocore.utils import parse_to_aware_datetime
    from moto.core.responses import ActionResult
    from moto.core.serialize import TimestampSerializer
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    def wire(value: Any) -> Any:
        from datetime import datetime

        if isinstance(value, datetime):
            return TimestampSerializer._timestamp_unixtimestamp(parse_to_aware_datetime(value))  # type: ignore[arg-type]
        return _blob(value)

    class PlainJsonResult(ActionResult):
        def execute_result(self, context: Any) -> Any:
            if getattr(_STATE, "fast_paths_off", False) or not isinstance(self.result, dict):
                return super().execute_result(context)
            try:
                body = json.dumps(_without_none(self.result), separators=(",", ":"), default=wire)
            except TypeError:
                return super().execute_result(context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    original = DynamoDBStreamsHandler.get_records

    def get_records(self: Any) -> Any:
        result = original(self)
        return PlainJsonResult(result.result) if type(result) is ActionResult else result

    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign]


# moto services whose model objects are created per request (items, their copies, stream records, shard
# iterators, messages): moto's instance tracking would keep every one of them for ever.
UNTRACKED_SERVICES = ("moto.dynamodb.", "moto.dynamodbstreams.", "moto.sqs.")


def _untrack_instances() -> None:
    """moto's ``BaseModel.__new__`` appends every instance of every model class to a class-level list
    (``instances_tracked``, read only by the moto server's dashboard, emptied only by a reset). For
    DynamoDB that is every ``Item`` ever built: each stored item, and also every transient one (the
    before-image a transaction keeps, the old version an update replaces, copies made while
    evaluating), every ``StreamRecord`` (both images; trimming the shard did not free them), every
    ``ShardIterator`` (expiring them did not free them either) and every SQS ``Message``. That was most
    of the running server's growth per write (docs/local-runtime.md, "Memory"). Instances of these
    services' models are no longer tracked; the dashboard (``/moto-api/``) shows none of them."""
    from moto.core.common_models import BaseModel

    if getattr(BaseModel, "_contextiq_untracked", False):
        return
    original = BaseModel.__new__

    def new(cls: Any, *args: Any, **kwargs: Any) -> Any:
        if cls.__module__.startswith(UNTRACKED_SERVICES):
            return object.__new__(cls)
        return original(cls, *args, **kwargs)

    BaseModel.__new__ = staticmethod(new)  # type: ignore[method-assign]
    BaseModel._contextiq_untracked = True  # type: ignore[attr-defined]
    from moto.core.model_instances import model_data

    for service in ("dynamodb", "dynamodbstreams", "sqs"):
        for model in model_data.get(service, {}).values():
            model.instances_tracked = []  # type: ignore[attr-defined]


class PackedStreamRecord:
    """A stream record kept as one pickled blob instead of moto's nested dicts (both item images as
    AttributeValue dicts: ~5-7 KB of Python objects per record for a session update, ~1.3 KB pickled).
    ``to_json()`` rebuilds the same dict on each read, as moto's ``StreamRecord.to_json`` returns it."""

    __slots__ = ("_blob",)

    def __init__(self, record: dict[str, Any]) -> None:
        import pickle

        self._blob = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)

    def to_json(self) -> dict[str, Any]:
        import pickle

        record: dict[str, Any] = pickle.loads(self._blob)  # noqa: S301 - bytes this process pickled itself
        return record

    def __len__(self) -> int:
        return len(self._blob)


def _pack_stream_records(shard_cls: Any) -> None:
    """Each shard keeps up to ``STREAM_RECORDS_KEPT`` records; packed, the busiest shard (sessions: an
    append is an INSERT of the event and a MODIFY of the session with both images) holds ~15 MB instead
    of ~70 MB. moto's ``add`` appends one record at the end (trimming then drops from the front)."""
    original_add = shard_cls.add

    def add(self: Any, old: Any, new: Any) -> None:
        original_add(self, old, new)
        if self.items and not isinstance(self.items[-1], PackedStreamRecord):
            self.items[-1] = PackedStreamRecord(self.items[-1].to_json())

    shard_cls.add = add


def _intern_attribute_names() -> None:
    """moto keeps each item's attributes in a dict keyed by the names parsed from that request's JSON,
    so every stored item carried its own copy of every attribute name ("pk", "session_id", ...): ~55 bytes
    a name, ~650 bytes an event item of 12 attributes. Interned, all items share one string per name."""
    import sys

    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    original = LimitedSizeDict.__setitem__

    def setitem(self: Any, key: Any, value: Any) -> None:
        original(self, sys.intern(key) if type(key) is str else key, value)

    LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign]
