"""Client commands of the ``contextiq`` CLI (``sessions``, ``events``, ``memories``, ``generate``, ``jobs``,
``webhooks``, ``policies``),
built on the SDK. ``contextiq.cli`` adds them next to ``local`` with :func:`add_commands`.

Output is a table, or JSON with ``--json``. Errors print the problem's detail (and each field) to stderr and
exit 1; a missing URL or key exits 2. ``--url``/``--api-key`` fall back to CONTEXTIQ_URL/CONTEXTIQ_API_KEY,
then to the ``.contextiq/local.json`` of a running ``contextiq local``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from contextiq_sdk import models as m
from contextiq_sdk import models_context as x
from contextiq_sdk import models_webhooks as w
from contextiq_sdk.client import Client
from contextiq_sdk.errors import APIError, ConfigurationError, ContextIQError

COMMANDS = ("sessions", "events", "memories", "generate", "recall", "context", "jobs", "webhooks", "policies")
Handler = Callable[[Client, argparse.Namespace], Any]


# --- argument types ----------------------------------------------------------------------------------


def scope_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not JSON: {err}") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def direct_event(text: str) -> m.DirectEvent:
    author, sep, said = text.partition(":")
    if not sep or not author or not said.strip():
        raise argparse.ArgumentTypeError(f"expected AUTHOR:TEXT, got {text!r}")
    return m.DirectEvent(author=author, role=author, text=said.strip())


# --- output ------------------------------------------------------------------------------------------

COLUMNS: dict[type[BaseModel], list[tuple[str, Callable[[Any], Any]]]] = {
    m.Session: [
        ("id", lambda s: s.id),
        ("user_id", lambda s: s.user_id),
        ("app_name", lambda s: s.app_name),
        ("events", lambda s: s.event_count),
        ("version", lambda s: s.version),
        ("updated", lambda s: s.update_time),
    ],
    m.Checkpoint: [
        ("checkpoint_id", lambda cp: cp.checkpoint_id),
        ("name", lambda cp: cp.name),
        ("seq", lambda cp: cp.seq),
        ("version", lambda cp: cp.version),
        ("created", lambda cp: cp.create_time),
    ],
    m.Event: [
        ("seq", lambda e: e.seq),
        ("author", lambda e: e.author),
        ("role", lambda e: e.role),
        ("text", lambda e: e.text if e.text is not None else json.dumps(e.content)),
        ("time", lambda e: e.timestamp),
    ],
    m.Memory: [
        ("id", lambda x: x.id),
        ("fact", lambda x: x.fact),
        ("topics", lambda x: ",".join(x.topics)),
        ("version", lambda x: x.version),
        ("updated", lambda x: x.update_time),
    ],
    m.SearchResult: [
        ("score", lambda r: f"{r.score:.3f}"),
        ("id", lambda r: r.memory.id),
        ("fact", lambda r: r.memory.fact),
    ],
    m.RecallResult: [
        ("type", lambda r: r.type),
        ("score", lambda r: f"{r.score:.3f}"),
        ("id", lambda r: r.memory.id if r.memory else f"{r.event.session_id}#{r.event.seq}"),
        ("text", lambda r: r.memory.fact if r.memory else r.event.text),
    ],
    m.EventResult: [
        ("score", lambda r: f"{r.score:.3f}"),
        ("session_id", lambda r: r.event.session_id),
        ("seq", lambda r: r.event.seq),
        ("text", lambda r: r.event.text),
    ],
    m.Revision: [
        ("version", lambda r: r.version),
        ("action", lambda r: r.action.value),
        ("fact", lambda r: r.fact),
        ("actor", lambda r: r.actor),
        ("time", lambda r: r.time),
    ],
    m.Job: [
        ("id", lambda j: j.id),
        ("status", lambda j: j.status.value),
        ("added", lambda j: j.result.added if j.result else ""),
        ("updated", lambda j: j.result.updated if j.result else ""),
        ("deleted", lambda j: j.result.deleted if j.result else ""),
        ("error", lambda j: j.error or ""),
    ],
    w.Webhook: [("id", lambda h: h.id), ("url", lambda h: h.url), ("events", lambda h: ",".join(h.events))],
    w.WebhookCreated: [("id", lambda h: h.id), ("url", lambda h: h.url), ("secret", lambda h: h.secret)],
    w.Delivery: [
        ("event", lambda d: d.event_type),
        ("resource_id", lambda d: d.resource_id),
        ("version", lambda d: d.version),
        ("status", lambda d: d.status.value),
        ("attempts", lambda d: d.attempts),
        ("error", lambda d: d.last_error or ""),
    ],
    m.AppGenerationPolicy: [
        ("app_name", lambda p: p.app_name),
        ("every_n_events", lambda p: p.every_n_events or ""),
        ("idle_seconds", lambda p: p.idle_seconds or ""),
        ("on_delete", lambda p: "yes" if p.on_session_delete else ""),
        ("scope_template", lambda p: json.dumps(p.scope_template)),
        ("version", lambda p: p.version),
    ],
}


def _cell(value: Any, width: int = 60) -> str:
    text = "" if value is None else value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: Sequence[BaseModel]) -> str:
    if not rows:
        return "(none)"
    columns = COLUMNS[type(rows[0])]
    cells = [[_cell(get(row)) for _, get in columns] for row in rows]
    widths = [max(len(name), *(len(r[i]) for r in cells)) for i, (name, _) in enumerate(columns)]
    lines = ["  ".join(name.upper().ljust(w) for (name, _), w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def render(result: Any, as_json: bool) -> str | None:
    if result is None:
        return None
    if as_json:
        if isinstance(result, BaseModel):
            return result.model_dump_json(indent=2)
        return json.dumps([r.model_dump(mode="json") for r in result], indent=2)
    if isinstance(result, x.ContextResponse):
        note = f"-- {result.token_estimate} tokens, template {result.template.id} v{result.template.version}"
        return result.text + "\n" + note + (f", left out {result.omitted}" if result.truncated else "")
    if isinstance(result, m.Page):
        text = table(result.items)
        return text + (f"\nnext_token: {result.next_token}" if result.next_token else "")
    if isinstance(result, m.SearchResponse | m.RecallResponse | m.EventSearchResponse):
        return table(result.results)
    if isinstance(result, BaseModel):
        return table([result])
    return table(list(result))


# --- commands ----------------------------------------------------------------------------------------


def _page(args: argparse.Namespace, pages: Callable[..., Any], listing: Callable[..., Any]) -> Any:
    return list(pages()) if args.all else listing(limit=args.limit, next_token=args.next_token)


def _scope(args: argparse.Namespace) -> dict[str, str]:
    return dict(args.scope)


def _policy(args: argparse.Namespace) -> m.GenerationPolicy:
    fields: dict[str, Any] = {
        "every_n_events": args.every_n_events,
        "idle_seconds": args.idle_seconds,
        "on_session_delete": args.on_session_delete,
        "topics": args.topic or None,
    }
    if args.scope_template:
        fields["scope_template"] = dict(args.scope_template)
    return m.GenerationPolicy.model_validate({k: v for k, v in fields.items() if v is not None})


def _policy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--every-n-events", type=int, help="a job for each N new events")
    p.add_argument("--idle-seconds", type=int, help="a job after this many seconds without an append")
    p.add_argument("--on-session-delete", action="store_true", help="a final job when the session is deleted")
    p.add_argument("--topic", action="append", default=[], help="managed topic label (repeatable)")
    p.add_argument(
        "--scope-template",
        type=scope_pair,
        action="append",
        default=[],
        metavar="KEY=TEMPLATE",
        help="scope entry from {user_id}, {app_name}, {session_id} (repeatable; default user_id={user_id})",
    )
    p.add_argument("--version", type=int, help="only over this version (If-Match)")


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("sessions", "create"): lambda c, a: c.sessions.create(
        a.user_id, a.app_name, state=a.state, metadata=a.metadata, ttl_seconds=a.ttl_seconds
    ),
    ("sessions", "get"): lambda c, a: c.sessions.get(a.id),
    ("sessions", "list"): lambda c, a: _page(
        a,
        lambda: c.sessions.iter(a.user_id, a.app_name),
        lambda **kw: c.sessions.list(a.user_id, a.app_name, **kw),
    ),
    ("sessions", "delete"): lambda c, a: c.sessions.delete(a.id),
    ("sessions", "checkpoint"): lambda c, a: c.sessions.checkpoint(a.id, a.name, metadata=a.metadata),
    ("sessions", "checkpoints"): lambda c, a: _page(
        a,
        lambda: c.sessions.iter_checkpoints(a.id),
        lambda **kw: c.sessions.list_checkpoints(a.id, **kw),
    ),
    ("sessions", "fork"): lambda c, a: c.sessions.fork(
        a.id, checkpoint_id=a.checkpoint_id, at_seq=a.at_seq, metadata=a.metadata, ttl_seconds=a.ttl_seconds
    ),
    ("events", "append"): lambda c, a: c.events.append(
        a.session_id, a.author, a.text, role=a.role, metadata=a.metadata, state_delta=a.state_delta
    ),
    ("events", "list"): lambda c, a: _page(
        a,
        lambda: c.events.iter(a.session_id, after_seq=a.after_seq),
        lambda **kw: c.events.list(a.session_id, after_seq=a.after_seq, **kw),
    ),
    ("memories", "add"): lambda c, a: c.memories.add(
        _scope(a), a.fact, topics=a.topic, metadata=a.metadata, ttl_seconds=a.ttl_seconds
    ),
    ("events", "search"): lambda c, a: c.events.search(
        a.user_id, a.query, app_name=a.app_name, session_id=a.session_id, top_k=a.top_k, mode=a.mode
    ),
    ("recall", None): lambda c, a: c.recall(_scope(a), a.query, top_k=a.top_k, sources=a.source),
    ("context", None): lambda c, a: c.assemble_context(
        a.max_tokens,
        session_id=a.session_id,
        scope=_scope(a) or None,
        query=a.query,
        template_id=a.template_id,
        variables=dict(a.var),
    ),
    ("memories", "get"): lambda c, a: c.memories.get(a.id),
    ("memories", "list"): lambda c, a: _page(
        a,
        lambda: c.memories.iter(_scope(a), topic=a.topic),
        lambda **kw: c.memories.list(_scope(a), topic=a.topic, **kw),
    ),
    ("memories", "search"): lambda c, a: c.memories.search(
        _scope(a), a.query, top_k=a.top_k, mode=a.mode, topics=a.topic
    ),
    ("memories", "revisions"): lambda c, a: _page(
        a, lambda: c.memories.iter_revisions(a.id), lambda **kw: c.memories.revisions(a.id, **kw)
    ),
    ("memories", "delete"): lambda c, a: c.memories.delete(a.id, version=a.version),
    ("generate", None): lambda c, a: c.memories.generate(
        session_id=a.session_id,
        events=a.event,
        facts=a.fact,
        scope=_scope(a) or None,
        after_seq=a.after_seq,
        wait=a.wait,
        timeout=a.timeout,
    ),
    ("jobs", "get"): lambda c, a: c.jobs.wait(a.id, timeout=a.timeout) if a.wait else c.jobs.get(a.id),
    ("webhooks", "create"): lambda c, a: c.webhooks.create(a.url_to_call, a.event or None, secret=a.secret),
    ("webhooks", "list"): lambda c, a: c.webhooks.list(),
    ("webhooks", "get"): lambda c, a: c.webhooks.get(a.id),
    ("webhooks", "delete"): lambda c, a: c.webhooks.delete(a.id),
    ("webhooks", "deliveries"): lambda c, a: _page(
        a, lambda: c.webhooks.iter_deliveries(a.id), lambda **kw: c.webhooks.deliveries(a.id, **kw)
    ),
    ("jobs", "list"): lambda c, a: _page(
        a,
        lambda: c.generation_policies.iter_jobs(a.session_id),
        lambda **kw: c.generation_policies.jobs(a.session_id, **kw),
    ),
    ("policies", "put"): lambda c, a: c.generation_policies.put(a.app_name, _policy(a), version=a.version),
    ("policies", "get"): lambda c, a: c.generation_policies.get(a.app_name),
    ("policies", "list"): lambda c, a: _page(
        a, lambda: c.generation_policies.iter(), lambda **kw: c.generation_policies.list(**kw)
    ),
    ("policies", "delete"): lambda c, a: c.generation_policies.delete(a.app_name),
    ("policies", "session"): lambda c, a: c.generation_policies.set_for_session(
        a.session_id, None if a.clear else _policy(a), version=a.version
    ),
}


def _connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="ContextIQ URL (default: $CONTEXTIQ_URL, then the running local server)")
    common.add_argument("--api-key", help="API key (default: $CONTEXTIQ_API_KEY, then the running local server)")
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return common


def _listing(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, help="page size (1-100)")
    p.add_argument("--next-token", help="continue from a previous page")
    p.add_argument("--all", action="store_true", help="follow next_token to the last page")


def _scope_option(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "--scope",
        type=scope_pair,
        action="append",
        required=required,
        default=[],
        metavar="KEY=VALUE",
        help="scope entry (repeatable), e.g. --scope user_id=alice",
    )


def add_commands(sub: Any) -> None:
    """Add the client commands to an ``argparse`` subparsers object; each sets ``handler``."""
    common = _connection_options()

    def group(name: str, help_text: str) -> Any:
        parser = sub.add_parser(name, help=help_text)
        return parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(parent: Any, command: str, name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help_text, parents=[common])
        p.set_defaults(handler=HANDLERS[(command, name)], run=run)
        return p

    s = group("sessions", "sessions: create, get, list, delete, checkpoint, checkpoints, fork")
    p = action(s, "sessions", "create", "create a session")
    p.add_argument("--user-id", required=True)
    p.add_argument("--app-name")
    p.add_argument("--state", type=json_object, metavar="JSON")
    p.add_argument("--metadata", type=json_object, metavar="JSON")
    p.add_argument("--ttl-seconds", type=int)
    action(s, "sessions", "get", "show a session").add_argument("id")
    p = action(s, "sessions", "list", "list a user's sessions")
    p.add_argument("--user-id", required=True)
    p.add_argument("--app-name")
    _listing(p)
    action(s, "sessions", "delete", "delete a session and its events").add_argument("id")
    p = action(s, "sessions", "checkpoint", "record a session's current state (to fork from later)")
    p.add_argument("id")
    p.add_argument("--name")
    p.add_argument("--metadata", type=json_object, metavar="JSON")
    p = action(s, "sessions", "checkpoints", "list a session's checkpoints")
    p.add_argument("id")
    _listing(p)
    p = action(s, "sessions", "fork", "fork a session at a checkpoint or a seq")
    p.add_argument("id")
    point = p.add_mutually_exclusive_group(required=True)
    point.add_argument("--checkpoint-id")
    point.add_argument("--at-seq", type=int)
    p.add_argument("--metadata", type=json_object, metavar="JSON")
    p.add_argument("--ttl-seconds", type=int)

    e = group("events", "a session's events: append, list, search")
    p = action(e, "events", "append", "append an event to a session")
    p.add_argument("session_id")
    p.add_argument("--author", required=True)
    p.add_argument("--role")
    p.add_argument("--text", required=True)
    p.add_argument("--metadata", type=json_object, metavar="JSON")
    p.add_argument("--state-delta", type=json_object, metavar="JSON")
    p = action(e, "events", "list", "list a session's events in order")
    p.add_argument("session_id")
    p.add_argument("--after-seq", type=int)
    _listing(p)

    p = action(e, "events", "search", "search what was said in a user's sessions")
    p.add_argument("--user-id", required=True)
    p.add_argument("query")
    p.add_argument("--app-name")
    p.add_argument("--session-id")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--mode", choices=["hybrid", "semantic", "keyword"], default="hybrid")

    mem = group("memories", "long-term memories: add, get, list, search, revisions, delete")
    p = action(mem, "memories", "add", "add a fact to a scope")
    _scope_option(p)
    p.add_argument("--fact", required=True)
    p.add_argument("--topic", action="append", default=[], help="topic label (repeatable)")
    p.add_argument("--metadata", type=json_object, metavar="JSON")
    p.add_argument("--ttl-seconds", type=int)
    action(mem, "memories", "get", "show a memory").add_argument("id")
    p = action(mem, "memories", "list", "list the memories of a scope")
    _scope_option(p)
    p.add_argument("--topic")
    _listing(p)
    p = action(mem, "memories", "search", "search a scope by meaning and keywords")
    _scope_option(p)
    p.add_argument("query")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--mode", choices=["hybrid", "semantic", "keyword"], default="hybrid")
    p.add_argument("--topic", action="append", help="only memories with this topic (repeatable)")
    p = action(mem, "memories", "revisions", "every change of a memory")
    p.add_argument("id")
    _listing(p)
    p = action(mem, "memories", "delete", "delete a memory")
    p.add_argument("id")
    p.add_argument("--version", type=int, help="only if the memory is at this version (If-Match)")

    p = sub.add_parser("generate", help="generate memories from a session, events or facts", parents=[common])
    p.set_defaults(handler=HANDLERS[("generate", None)], action=None, run=run)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--session-id")
    source.add_argument("--event", type=direct_event, action="append", metavar="AUTHOR:TEXT")
    source.add_argument("--fact", action="append")
    _scope_option(p, required=False)
    p.add_argument("--after-seq", type=int)
    p.add_argument("--wait", action="store_true", help="wait for the job to finish")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait (with --wait)")

    p = sub.add_parser("recall", help="memories and past events of a scope, fused", parents=[common])
    p.set_defaults(handler=HANDLERS[("recall", None)], action=None, run=run)
    _scope_option(p)
    p.add_argument("query")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--source", choices=["memory", "event"], action="append", help="only this source (repeatable)")

    p = sub.add_parser("context", help="the context for a next prompt, within a token budget", parents=[common])
    p.set_defaults(handler=HANDLERS[("context", None)], action=None, run=run)
    p.add_argument("--session-id", help="the session (its recent turns; its user and last user turn as defaults)")
    _scope_option(p, required=False)
    p.add_argument("--query", help="what to look up (default: the session's last user turn)")
    p.add_argument("--max-tokens", type=int, default=2000)
    p.add_argument("--template-id", help="a stored template (default: the built-in one)")
    p.add_argument("--var", type=scope_pair, action="append", default=[], metavar="NAME=VALUE", help="a variable")

    j = group("jobs", "generation jobs: get, list")
    p = action(j, "jobs", "get", "show a job")
    p.add_argument("id")
    p.add_argument("--wait", action="store_true", help="wait for the job to finish")
    p.add_argument("--timeout", type=float, default=120.0)
    p = action(j, "jobs", "list", "a session's generation jobs, oldest first")
    p.add_argument("--session-id", required=True)
    _listing(p)

    pol = group("policies", "generation policies (memories that form by themselves): put, get, list, delete, session")
    p = action(pol, "policies", "put", "set an app's generation policy")
    p.add_argument("app_name")
    _policy_options(p)
    action(pol, "policies", "get", "show an app's generation policy").add_argument("app_name")
    _listing(action(pol, "policies", "list", "list the generation policies"))
    action(pol, "policies", "delete", "delete an app's generation policy").add_argument("app_name")
    p = action(pol, "policies", "session", "set (or --clear) a session's own generation policy")
    p.add_argument("session_id")
    _policy_options(p)
    p.add_argument("--clear", action="store_true", help="remove the session's own policy (its app's applies)")

    h = group("webhooks", "change notifications by webhook: create, list, get, delete, deliveries")
    p = action(h, "webhooks", "create", "subscribe a URL to change events (prints the secret once)")
    p.add_argument("url_to_call", metavar="URL")
    p.add_argument("--event", action="append", help="event type, e.g. memory.created (repeatable; default: all)")
    p.add_argument("--secret", help="whsec_<base64> signing secret (default: generated)")
    action(h, "webhooks", "list", "list the webhooks")
    action(h, "webhooks", "get", "show a webhook").add_argument("id")
    action(h, "webhooks", "delete", "delete a webhook").add_argument("id")
    p = action(h, "webhooks", "deliveries", "a webhook's delivery log, newest first")
    p.add_argument("id")
    _listing(p)


def run(args: argparse.Namespace) -> int:
    """Run a parsed client command; the exit code is 0, 1 (an API error) or 2 (configuration)."""
    try:
        with Client(args.url, args.api_key) as client:
            result = args.handler(client, args)
    except ConfigurationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except APIError as err:
        print(f"error: {err.status} {err.title}: {err.detail}", file=sys.stderr)
        for field in err.errors:
            print(f"  {field.field}: {field.message}", file=sys.stderr)
        return 1
    except ContextIQError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    text = render(result, args.json)
    if text is not None:
        print(text)
    if isinstance(result, m.Job) and result.status is m.JobStatus.FAILED:
        print(f"error: job {result.id} FAILED: {result.error}", file=sys.stderr)
        return 1
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    """The client commands alone (``python -m contextiq_sdk.cli``), for an install without the service."""
    parser = argparse.ArgumentParser(prog="contextiq", description="ContextIQ client commands")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv) if argv is not None else None)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
