"""Prompt templates: Jinja2 in an immutable sandbox, checked on save, bounded when rendered.

Why Jinja2's own sandbox and not a hand-written formatter: it is the best-known template language for
prompts, and ``ImmutableSandboxedEnvironment`` already refuses attributes that reach Python internals
(``''.__class__.__mro__``, ``func.__globals__``...) and methods that change data. On top of it this module:

* allows a short list of methods on plain values (``str.upper``, ``dict.items``...), nothing else;
* exposes a short list of filters (``FILTERS``; docs/templates.md), each checked against the render's
  budget; ``include``/``extends``/``import`` are refused (there is nothing to load);
* bounds every render in time, loop iterations and output characters (``RenderLimits``). Jinja has no
  time limit of its own, so every loop's iterable is wrapped in a counting iterator, and every call,
  filter, ``~`` concatenation and arithmetic operator checks the budget; an exceeded budget raises
  :class:`TemplateLimitError` (the API answers 422), never a hang;
* names the line of any problem: syntax errors, unknown variables or filters on save, errors at render.
"""

from __future__ import annotations

import contextvars
import functools
import math
import time
import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2 import filters as jinja_filters
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer

from contextiq.templating import filters as ciq_filters

TEMPLATE_FILE = "<template>"


class TemplateInvalidError(Exception):
    """The template cannot be used: ``line`` (1-based, when known) and ``message`` say why."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class TemplateLimitError(TemplateInvalidError):
    """A render went over its time, iteration or output budget."""


@dataclass(frozen=True)
class RenderLimits:
    seconds: float
    output_chars: int
    iterations: int


@dataclass
class Budget:
    """What one render (or several renders of one request) may still spend; shared by all their renders."""

    limits: RenderLimits
    deadline: float = field(default=0.0)
    iterations: int = 0

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.limits.seconds

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"the render took longer than {self.limits.seconds:g} s")

    def step(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.iterations:
            raise TemplateLimitError(f"the render ran more than {self.limits.iterations} loop iterations")
        if self.iterations % 64 == 0:
            self.tick()

    def check_size(self, value: Any) -> Any:
        if isinstance(value, str | list | tuple | dict) and len(value) > self.limits.output_chars:
            raise TemplateLimitError(f"a value of the render grew over {self.limits.output_chars} characters")
        return value


_budget: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("template_budget", default=None)


def _current() -> Budget:
    budget = _budget.get()
    if budget is None:  # rendering outside render() (cannot happen through this module's API)
        raise TemplateLimitError("templates render only through TemplateEngine.render")
    return budget


# Methods a template may call on plain values: read-only and bounded by their input.
_STR_METHODS = (
    "capitalize", "casefold", "count", "endswith", "find", "isalnum", "isalpha", "isdigit", "islower", "isspace",
    "istitle", "isupper", "lower", "lstrip", "rstrip", "split", "splitlines", "startswith", "strip", "title", "upper",
)  # fmt: skip
SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(_STR_METHODS),
    dict: frozenset({"get", "items", "keys", "values"}),
    list: frozenset({"count", "index"}),
    tuple: frozenset({"count", "index"}),
}
SAFE_BUILTIN_FILTERS = (
    "abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "first", "float", "groupby", "int",
    "join", "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "reverse", "round",
    "select", "selectattr", "slice", "sort", "string", "sum", "title", "tojson", "trim", "truncate", "unique",
    "upper", "wordcount",
)  # fmt: skip
MAX_POWER_BITS = 4096  # integers a template computes stay below this many bits


def _guard(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # keeps jinja's pass_context/pass_environment markers
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.tick()
        return budget.check_size(function(*args, **kwargs))

    return guarded


FILTERS: dict[str, Callable[..., Any]] = {
    **{name: _guard(jinja_filters.FILTERS[name]) for name in SAFE_BUILTIN_FILTERS},
    **{name: _guard(f) for name, f in ciq_filters.CUSTOM_FILTERS.items()},
}


def _bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = _current()
    for item in iterable:
        budget.step()
        yield item


def _bounded_concat(*parts: Any) -> str:
    budget = _current()
    budget.tick()
    return str(budget.check_size("".join(str(p) for p in parts)))


class _Bound(NodeTransformer):
    """Wraps each ``for`` iterable in the counting iterator and each ``~`` in the bounded concatenation."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 (jinja's visitor naming)
        self.generic_visit(node)
        node.iter = _env_call("bounded_iter", [t.cast(nodes.Expr, node.iter)], node.iter.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return _env_call("bounded_concat", list(node.nodes), node.lineno)


def _env_call(attribute: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    return nodes.Call(nodes.EnvironmentAttribute(attribute, lineno=lineno), args, [], None, None, lineno=lineno)


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "**", "%", "//"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        self.filters = dict(FILTERS)
        self.globals = {"range": self.globals["range"], "dict": dict, "namespace": Namespace}
        self.globals.update(cycler=Cycler, joiner=Joiner)
        self.bounded_iter = _bounded_iter
        self.bounded_concat = _bounded_concat

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        bound = _Bound().visit(tree)
        bound.set_environment(self)
        return t.cast(nodes.Template, bound)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        for kind, allowed in SAFE_METHODS.items():
            if isinstance(obj, kind):
                return attr in allowed
        return True

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (jinja's signature)
        budget = _current()
        budget.tick()
        return budget.check_size(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _current()
        budget.tick()
        if operator == "%" and isinstance(left, str):
            raise SecurityError("printf-style '%' formatting is not available in templates; use filters")
        if operator == "**" and _too_many_bits(left, right):
            raise TemplateLimitError(f"a number of the render grew over {MAX_POWER_BITS} bits")
        if operator == "*":
            seq, times = (left, right) if isinstance(right, int) else (right, left)
            too_long = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if too_long and len(seq) * max(times, 0) > budget.limits.output_chars:
                raise TemplateLimitError(f"a value of the render grew over {budget.limits.output_chars} characters")
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, int) and result.bit_length() > MAX_POWER_BITS:
            raise TemplateLimitError(f"a number of the render grew over {MAX_POWER_BITS} bits")
        return budget.check_size(result)


def _too_many_bits(base: Any, exponent: Any) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0 or abs(base) <= 1:
        return False
    return exponent * math.log2(abs(base)) > MAX_POWER_BITS


def _line_of(error: BaseException) -> int | None:
    """The template line an error was raised on (jinja rewrites tracebacks to point at template lines)."""
    line = getattr(error, "lineno", None)
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line if isinstance(line, int) else None


class TemplateEngine:
    """Checks and renders template bodies; compiled templates are cached by body."""

    def __init__(self, limits: RenderLimits, cache_size: int = 64) -> None:
        self.limits = limits
        self._env = _Environment()
        self._compile = functools.lru_cache(maxsize=cache_size)(self._compile_uncached)

    @property
    def globals(self) -> frozenset[str]:
        return frozenset(self._env.globals)

    def _compile_uncached(self, body: str) -> Any:
        return self._env.from_string(body)

    def check(self, body: str, known: Iterable[str]) -> None:
        """Raise :class:`TemplateInvalidError` for a syntax error, an unknown filter or variable, or a
        construct templates may not use (include, import, extends); the message names the line."""
        try:
            tree = self._env.parse(body)
            self._compile(body)
        except TemplateSyntaxError as err:
            raise TemplateInvalidError(err.message or "syntax error", err.lineno) from None
        for construct in (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport):
            found = next(iter(tree.find_all(construct)), None)
            if found is not None:
                word = construct.__name__.lower().replace("fromimport", "from ... import")
                raise TemplateInvalidError(f"'{word}' is not available (templates cannot load others)", found.lineno)
        for node in tree.find_all(nodes.Filter):
            if node.name not in self._env.filters:
                raise TemplateInvalidError(f"unknown filter {node.name!r} (docs/templates.md lists them)", node.lineno)
        for test in tree.find_all(nodes.Test):
            if test.name not in self._env.tests:
                raise TemplateInvalidError(f"unknown test {test.name!r}", test.lineno)
        unknown = meta.find_undeclared_variables(tree) - set(known) - self.globals
        if unknown:
            names = [n for n in tree.find_all(nodes.Name) if n.ctx == "load" and n.name in unknown]
            first = min(names, key=lambda n: n.lineno)
            raise TemplateInvalidError(
                f"unknown variable {first.name!r} (declare it in `variables`, or use one of the context's)",
                first.lineno,
            )

    def render(self, body: str, context: Mapping[str, Any], budget: Budget | None = None) -> str:
        """The rendered text; :class:`TemplateLimitError` over budget, :class:`TemplateInvalidError` on any
        other error (with its line)."""
        budget = budget or Budget(self.limits)
        token = _budget.set(budget)
        try:
            template = self._compile(body)
            pieces: list[str] = []
            size = 0
            for piece in template.generate(dict(context)):
                size += len(piece)
                if size > budget.limits.output_chars:
                    raise TemplateLimitError(f"the output grew over {budget.limits.output_chars} characters")
                pieces.append(piece)
                budget.tick()
            return "".join(pieces)
        except TemplateInvalidError as err:
            if err.line is None:
                err.line = _line_of(err)
            raise
        except TemplateSyntaxError as err:
            raise TemplateInvalidError(err.message or "syntax error", err.lineno) from None
        except SecurityError as err:
            raise TemplateInvalidError(f"refused by the sandbox: {err}", _line_of(err)) from None
        except RecursionError as err:
            raise TemplateLimitError("the render recursed too deeply", _line_of(err)) from None
        except MemoryError as err:
            raise TemplateLimitError("the render ran out of memory", _line_of(err)) from None
        except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as err:
            raise TemplateInvalidError(f"{type(err).__name__}: {err}", _line_of(err)) from None
        finally:
            _budget.reset(token)


def undeclared(body: str, engine: TemplateEngine) -> Sequence[str]:
    """Variables ``body`` reads that it does not define (for documentation and tests)."""
    return sorted(meta.find_undeclared_variables(engine._env.parse(body)) - engine.globals)
