"""``contextiq mcp``: a Model Context Protocol server (official ``mcp`` SDK) backed by the ContextIQ SDK.

Tools: remember, recall, forget, list_memories, generate_memories, append_event, search_procedures,
get_context.
Resources: a session's events (``contextiq://sessions/{session_id}/events``) and a scope's memories
(``contextiq://memories/{scope}`` with the scope as ``key=value,key=value``; ``contextiq://memories`` is the
default scope). Serves stdio, or streamable HTTP with ``--http PORT``. Needs the ``[mcp]`` extra.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field

from contextiq_sdk.aclient import AsyncClient
from contextiq_sdk.errors import APIError, ContextIQError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

MAX_RESOURCE_ITEMS = 500
Scope = Annotated[
    dict[str, str] | None,
    Field(
        description='Whose memories: a small dictionary such as {"user_id": "alice"} or '
        '{"user_id": "alice", "app": "travel"} (1-8 keys; the exact same keys and values form one scope). '
        "Leave it out to use the scope this server was started with."
    ),
]


class Message(BaseModel):
    role: Annotated[str, Field(description='Who spoke: "user", "assistant" (or "model"), or a tool name.')]
    text: Annotated[str, Field(description="What was said, as plain text.")]


def parse_scope(text: str) -> dict[str, str]:
    """``user_id=alice,app=travel`` -> {"user_id": "alice", "app": "travel"}."""
    scope: dict[str, str] = {}
    for pair in filter(None, text.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"scope entries are key=value, got {pair!r}")
        scope[key.strip()] = value.strip()
    if not scope:
        raise ValueError("empty scope")
    return scope


def _memory(memory: Any, score: float | None = None) -> dict[str, Any]:
    out = {"id": memory.id, "fact": memory.fact, "topics": memory.topics, "version": memory.version}
    out["updated"] = memory.update_time.isoformat()
    if score is not None:
        out["score"] = round(score, 4)
    return out


def build_server(client: AsyncClient, default_scope: dict[str, str] | None = None) -> MCPServer:
    """The MCP server; every tool and resource calls ContextIQ through ``client``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    scope_note = f" Default scope: {default_scope}." if default_scope else " No default scope: pass `scope`."
    server = MCPServer(
        "contextiq",
        instructions="Long-term memory for this conversation's user. Call `recall` before answering questions "
        "that may depend on what you were told before; call `remember` when the user states a durable fact or "
        "preference; call `forget` when asked to." + scope_note,
    )

    def scope_of(scope: dict[str, str] | None) -> dict[str, str]:
        chosen = scope or default_scope
        if not chosen:
            raise ToolError('no scope: pass `scope`, e.g. {"user_id": "alice"} (no default was configured)')
        return chosen

    async def call(coro: Any) -> Any:
        try:
            return await coro
        except APIError as err:
            fields = "; ".join(f"{e.field}: {e.message}" for e in err.errors)
            raise ToolError(f"{err.status} {err.title}: {err.detail}" + (f" ({fields})" if fields else "")) from err
        except ContextIQError as err:
            raise ToolError(str(err)) from err

    @server.tool(
        description="Store one durable fact about the user or task in long-term memory (e.g. 'Alice is "
        "vegetarian'). Write a short, self-contained sentence in the third person. Returns the stored memory."
    )
    async def remember(
        fact: Annotated[str, Field(description="The fact to keep, one sentence, at most 2000 characters.")],
        scope: Scope = None,
        topics: Annotated[
            list[str] | None, Field(description="Optional labels to filter by later, e.g. ['travel'].")
        ] = None,
    ) -> dict[str, Any]:
        memory = await call(client.memories.add(scope_of(scope), fact, topics=topics))
        return _memory(memory)

    @server.tool(
        description="Search long-term memory by meaning and keywords: the scope's stored facts and what was "
        "said in its user's past sessions, fused and best first. Ask a natural-language question ('what does "
        "the user eat?', 'what did we discuss last May?'). Each result is a memory (id, fact) or a past event "
        "(session_id, seq, text) with a score (higher is more relevant)."
    )
    async def recall(
        query: Annotated[str, Field(description="What you want to know, in natural language.")],
        scope: Scope = None,
        top_k: Annotated[int, Field(ge=1, le=100, description="How many results to return (1-100).")] = 5,
        sources: Annotated[
            list[Literal["memory", "event"]] | None,
            Field(description='Only "memory" (stored facts) or only "event" (past conversation); default both.'),
        ] = None,
    ) -> dict[str, Any]:
        found = await call(client.recall(scope_of(scope), query, top_k=top_k, sources=sources))
        results: list[dict[str, Any]] = []
        for hit in found.results:
            if hit.memory is not None:
                results.append({"type": "memory", **_memory(hit.memory, hit.score)})
            elif hit.event is not None:
                event = hit.event
                results.append(
                    {
                        "type": "event",
                        "session_id": event.session_id,
                        "seq": event.seq,
                        "author": event.author,
                        "text": event.text,
                        "time": event.timestamp.isoformat(),
                        "score": round(hit.score, 4),
                    }
                )
        return {"results": results}

    @server.tool(
        description="Delete one memory by its id (from `recall` or `list_memories`). Use it when the user asks "
        "you to forget something or a fact is wrong. Its revision history stays readable."
    )
    async def forget(memory_id: Annotated[str, Field(description="The id of the memory to delete.")]) -> str:
        await call(client.memories.delete(memory_id))
        return f"forgot {memory_id}"

    @server.tool(description="List the memories of a scope, newest first, one page at a time.")
    async def list_memories(
        scope: Scope = None,
        topic: Annotated[str | None, Field(description="Only memories with this topic label.")] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="Page size (1-100).")] = 20,
        next_token: Annotated[
            str | None, Field(description="The next_token of the previous page, to continue.")
        ] = None,
    ) -> dict[str, Any]:
        page = await call(client.memories.list(scope_of(scope), topic=topic, limit=limit, next_token=next_token))
        return {"items": [_memory(x) for x in page.items], "next_token": page.next_token}

    @server.tool(
        description="Extract durable facts from a conversation and merge them into long-term memory (adds new "
        "facts, updates or deletes contradicted ones). Give either `messages` or the `session_id` of a stored "
        "session. Waits for the job and returns how many memories were added, updated and deleted."
    )
    async def generate_memories(
        messages: Annotated[
            list[Message] | None, Field(description="The conversation turns to learn from, oldest first.")
        ] = None,
        session_id: Annotated[str | None, Field(description="A stored session to learn from instead.")] = None,
        scope: Scope = None,
        wait: Annotated[bool, Field(description="Wait for the job to finish (default true).")] = True,
    ) -> dict[str, Any]:
        if (messages is None) == (session_id is None):
            raise ToolError("give exactly one of `messages` or `session_id`")
        events: list[Any] | None = [{"author": m.role, "role": m.role, "text": m.text} for m in messages or []] or None
        target = scope_of(scope) if session_id is None else (scope or None)
        job = await call(
            client.memories.generate(session_id=session_id, events=events, scope=target, wait=wait, timeout=120)
        )
        return job.model_dump(mode="json", exclude={"create_time"})

    @server.tool(
        description="Append one turn to a stored session's event log (the raw conversation ContextIQ can later "
        "turn into memories with `generate_memories`)."
    )
    async def append_event(
        session_id: Annotated[str, Field(description="The session to append to.")],
        text: Annotated[str, Field(description="What was said or done, as plain text.")],
        author: Annotated[str, Field(description='Who: "user", "agent", or a tool name.')] = "user",
        role: Annotated[
            Literal["user", "model", "tool", "system"] | None, Field(description="The turn's role, if any.")
        ] = None,
    ) -> dict[str, Any]:
        event = await call(client.events.append(session_id, author, text, role=role))
        return {"id": event.id, "seq": event.seq, "session_id": event.session_id}

    @server.tool(
        description="Find how-to knowledge: stored procedures (step-by-step workflows and skills learned from past "
        "tasks) that match a task described in natural language, best first, with their steps and success rate. "
        "Call it before starting a multi-step task."
    )
    async def search_procedures(
        query: Annotated[str, Field(description="The task you are about to do, in natural language.")],
        scope: Scope = None,
        top_k: Annotated[int, Field(ge=1, le=100, description="How many procedures to return.")] = 3,
    ) -> dict[str, Any]:
        found = await call(client.procedures.search(scope_of(scope), query, top_k=top_k))
        return {
            "results": [
                {
                    "id": hit.procedure.id,
                    "name": hit.procedure.name,
                    "description": hit.procedure.description,
                    "steps": [s.model_dump(exclude_none=True) for s in hit.procedure.steps],
                    "success_rate": hit.procedure.stats.success_rate,
                    "score": round(hit.score, 4),
                }
                for hit in found.results
            ]
        }

    @server.tool(
        description="Get a ready context for your next answer: what is known about the user (memories), related "
        "earlier conversation, matching procedures and the session's recent turns, rendered as text within "
        "`max_tokens` (whole items are left out to fit). Pass the session id to use its recent turns and last "
        "user message as the query, or a query and scope. The answer lists the ids of what the text holds."
    )
    async def get_context(
        session_id: Annotated[str | None, Field(description="The current session, if there is one.")] = None,
        query: Annotated[str | None, Field(description="What to look up; default: the last user turn.")] = None,
        scope: Scope = None,
        max_tokens: Annotated[int, Field(ge=1, le=100_000, description="The size budget, in tokens.")] = 2000,
        template_id: Annotated[str | None, Field(description="A stored prompt template; default: built-in.")] = None,
    ) -> dict[str, Any]:
        chosen = scope or default_scope
        if session_id is None and not chosen:
            raise ToolError('pass `session_id` or `scope`, e.g. {"user_id": "alice"} (no default was configured)')
        found = await call(
            client.assemble_context(
                max_tokens, session_id=session_id, scope=chosen, query=query, template_id=template_id
            )
        )
        return {
            "text": found.text,
            "token_estimate": found.token_estimate,
            "truncated": found.truncated,
            "template": found.template.model_dump(),
            "sources": {name: [item.id for item in getattr(found.sections, name)] for name in found.omitted},
        }

    @server.resource(
        "contextiq://sessions/{session_id}/events",
        description="A session's events in order (up to 500), as JSON.",
        mime_type="application/json",
    )
    async def session_events(session_id: str) -> list[dict[str, Any]]:
        events = []
        async for event in client.events.iter(session_id, page_size=100):
            events.append(event.model_dump(mode="json"))
            if len(events) >= MAX_RESOURCE_ITEMS:
                break
        return events

    async def memories_of(scope: dict[str, str]) -> list[dict[str, Any]]:
        items = []
        async for memory in client.memories.iter(scope, page_size=100):
            items.append(_memory(memory))
            if len(items) >= MAX_RESOURCE_ITEMS:
                break
        return items

    @server.resource(
        "contextiq://memories/{scope}",
        description="A scope's memories (up to 500) as JSON; write the scope as key=value,key=value.",
        mime_type="application/json",
    )
    async def scope_memories(scope: str) -> list[dict[str, Any]]:
        return await memories_of(parse_scope(scope))

    if default_scope:

        @server.resource(
            "contextiq://memories",
            description=f"The memories of the default scope {default_scope} (up to 500) as JSON.",
            mime_type="application/json",
        )
        async def default_memories() -> list[dict[str, Any]]:
            return await memories_of(default_scope)

    return server


def add_command(sub: Any) -> None:
    p = sub.add_parser("mcp", help="serve the Model Context Protocol (stdio, or streamable HTTP with --http)")
    p.add_argument("--url", help="ContextIQ URL (default: $CONTEXTIQ_URL, then the running local server)")
    p.add_argument("--api-key", help="API key (default: $CONTEXTIQ_API_KEY, then the running local server)")
    p.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="default scope entry for tools and resources (repeatable), e.g. --scope user_id=alice",
    )
    p.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on PORT (path /mcp)")
    p.add_argument("--host", default="127.0.0.1", help="with --http: the address to listen on")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import mcp  # noqa: F401
    except ImportError:
        print("error: the MCP server needs the mcp extra: pip install 'contextiq-sdk[mcp]'", file=sys.stderr)
        return 2
    try:
        scope = parse_scope(",".join(args.scope)) if args.scope else None
        client = AsyncClient(args.url, args.api_key)
    except (ValueError, ContextIQError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    server = build_server(client, scope)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per API call drowns the client's log
    if args.http:
        server.run("streamable-http", host=args.host, port=args.http)
    else:
        server.run("stdio")
    return 0
