"""PromQL checks shared by the dashboard and rule lints: parses, and names only known series.

Grafana template variables (`$__rate_interval`, `$instance`, `${var:regex}`, `[[var]]`) are not
PromQL, so they are replaced by stand-ins of the right type before parsing: a duration, a number,
or (inside a quoted label value) plain text. Each duration built-in gets its own odd stand-in, so
`range_windows` can tell which variable a rate used.

Example:
    >>> check_expr('rate(api_requests_total[$__rate_interval])', {"api_requests_total"})
    []
    >>> check_expr("rate(nope_total[5m])", {"api_requests_total"})
    ['names unknown metric nope_total']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Iterator
from datetime import timedelta

import promql_parser as pp

from authoring import catalog

__all__ = [
    "RANGE_FUNCTIONS",
    "check_expr",
    "counter_series",
    "gauge_series",
    "known_series",
    "metric_names",
    "misused_counters",
    "parse",
    "range_windows",
    "replica_problems",
    "substitute_variables",
]

# `$name`, `${name}`, `${name:format}` and the deprecated `[[name]]` / `[[name:format]]`.
_VARIABLE = re.compile(
    r"\$\{(?P<braced>\w+)(?::[^}]*)?\}|\$(?P<plain>\w+)|\[\[(?P<bracketed>\w+)(?::[^\]]*)?\]\]"
)
# Grafana's built-ins that expand to a number (milliseconds, seconds, epoch), not a duration.
_NUMERIC_BUILTINS = re.compile(r"__\w+_(ms|s)|__from|__to")
# Odd millisecond durations nobody writes by hand, one per built-in, mapped back after parsing.
_DURATION_STANDINS = {
    "__rate_interval": "60001ms",
    "__interval": "60002ms",
    "__range": "60003ms",
}
_OTHER_DURATION_STANDIN = "60009ms"
_NUMBER_STANDIN = "60"
_TEXT_STANDIN = "var"
_WINDOW_NAMES = {
    pp.parse_duration(standin): f"${name}" for name, standin in _DURATION_STANDINS.items()
}

# Functions whose range-vector argument may be a counter: they undo resets.
RANGE_FUNCTIONS = frozenset({"rate", "irate", "increase"})


def _standin(name: str, in_string: bool) -> str:
    if in_string:
        return _TEXT_STANDIN
    if _NUMERIC_BUILTINS.fullmatch(name):
        return _NUMBER_STANDIN
    if name.startswith("__"):
        return _DURATION_STANDINS.get(name, _OTHER_DURATION_STANDIN)
    # A user variable outside a label value (a metric name, a range): we cannot know its type,
    # and a metric name hidden in a variable defeats the catalog check, so it is refused.
    raise ValueError(f"template variable ${name} used outside a quoted label value")


def substitute_variables(expr: str) -> str:
    """`expr` with every Grafana variable replaced by a stand-in PromQL accepts.

    Raises ValueError for a user variable outside a quoted string.
    """
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(expr):
        ch = expr[i]
        if quote is not None:
            if ch == "\\" and quote != "`":
                out.append(expr[i : i + 2])
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        match = _VARIABLE.match(expr, i) if ch in "$[" else None
        if match:
            name = match.group("braced") or match.group("plain") or match.group("bracketed")
            out.append(_standin(name, in_string=quote is not None))
            i = match.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def parse(expr: str) -> pp.Expr:
    """The AST of a PromQL expression that may hold Grafana variables.

    Raises ValueError with a readable reason: a misplaced variable, or a parse error.
    """
    plain = substitute_variables(expr)
    try:
        return pp.parse(plain)
    except ValueError as exc:
        raise ValueError(f"does not parse: {exc}") from None


def _children(node: pp.Expr) -> Iterator[pp.Expr]:
    if isinstance(node, pp.Call):
        yield from (a for a in node.args if isinstance(a, pp.Expr))
    elif isinstance(node, pp.BinaryExpr):
        yield node.lhs
        yield node.rhs
    elif isinstance(node, pp.AggregateExpr):
        yield node.expr
        if isinstance(node.param, pp.Expr):
            yield node.param
    elif isinstance(node, pp.MatrixSelector):
        yield node.vector_selector
    elif isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        yield node.expr


def _selectors(
    node: pp.Expr, in_range_function: bool = False
) -> Iterator[tuple[pp.VectorSelector, bool]]:
    """Every vector selector, with whether it is the range argument of rate/irate/increase."""
    if isinstance(node, pp.VectorSelector):
        yield node, in_range_function
        return
    if isinstance(node, pp.Call) and node.func.name in RANGE_FUNCTIONS:
        for arg in node.args:
            if isinstance(arg, pp.MatrixSelector):
                yield arg.vector_selector, True
            elif isinstance(arg, pp.Expr):
                yield from _selectors(arg)
        return
    for child in _children(node):
        yield from _selectors(child)


def _names(selector: pp.VectorSelector, known: Collection[str]) -> set[str]:
    """Metric names a selector refers to, by name or `__name__` matcher.

    A regex is resolved against `known`; one matching nothing yields `~regex` for the caller to
    report. Negative matchers select by exclusion and cannot be checked.
    """
    names = {selector.name} if selector.name else set()
    for group in [selector.matchers.matchers, *selector.matchers.or_matchers]:
        for m in group:
            if m.name != "__name__":
                continue
            if m.op == pp.MatchOp.Equal:
                names.add(m.value)
            elif m.op == pp.MatchOp.Re:
                pattern = re.compile(m.value)
                names |= {k for k in known if pattern.fullmatch(k)} or {f"~{m.value}"}
    return names


def metric_names(expr: str, known: Collection[str] = ()) -> set[str]:
    """Every metric name an expression selects; ValueError if it does not parse.

    `known` resolves `__name__=~"regex"` matchers; an unresolvable regex appears as `~regex`.
    """
    return {name for sel, _ in _selectors(parse(expr)) for name in _names(sel, known)}


def misused_counters(expr: str, counters: Collection[str]) -> list[str]:
    """Counter series selected outside rate/irate/increase (their raw value means nothing)."""
    bad: set[str] = set()
    for sel, in_range_function in _selectors(parse(expr)):
        if not in_range_function:
            bad |= _names(sel, counters) & set(counters)
    return sorted(bad)


def range_windows(expr: str) -> list[tuple[str, str]]:
    """(function, window) for every call taking a range selector, in source order.

    The window reads as written: `$__rate_interval`, `$__range`, or a literal like `5m`.
    """
    found: list[tuple[str, str]] = []

    def visit(node: pp.Expr) -> None:
        if isinstance(node, pp.Call):
            for arg in node.args:
                if isinstance(arg, pp.MatrixSelector):
                    found.append((node.func.name, _window_text(arg.range)))
        for child in _children(node):
            visit(child)

    visit(parse(expr))
    return found


def _window_text(window: timedelta) -> str:
    return _WINDOW_NAMES.get(window) or pp.display_duration(window)


def check_expr(expr: str, known: set[str]) -> list[str]:
    """Problems with one PromQL expression (empty when fine): unparsable, or unknown metrics."""
    try:
        names = metric_names(expr, known)
    except ValueError as exc:
        return [str(exc)]
    return [
        f"names unknown metric {name}"
        if not name.startswith("~")
        else f"__name__ regex {name[1:]!r} matches no known metric"
        for name in sorted(names - known)
    ]


def counter_series() -> set[str]:
    """Series that only grow: counters, and every series of a histogram (buckets, sum, count)."""
    return catalog.counter_series()


def known_series(records: Iterable[str] = ()) -> set[str]:
    """Every series name dashboards and rules may select: the metric catalog (the API's metrics
    and node-exporter's) and the given recording rules."""
    return catalog.series_names() | set(records)


# Functions that reduce any number of series to one (or none): a gauge under them is no longer
# read per replica.
_COLLAPSING_FUNCTIONS = frozenset({"absent", "absent_over_time", "scalar"})
_REPLICA_ADVICE = (
    "say how replicas combine (`max without (instance, pod)` for one value) or show each on "
    "purpose (`max by (namespace, job, instance, pod)`)"
)


@functools.cache
def gauge_series() -> frozenset[str]:
    """Series read as they are: the catalog's gauges (`up` included); computed once, as every
    query of every panel and rule asks."""
    return frozenset(catalog.series_names() - catalog.counter_series())


def _replicated(selector: pp.VectorSelector, jobs: Collection[str]) -> bool:
    """Whether a selector may return one series per replica: it selects a replicated job (or no
    job at all) and does not pin one target with `instance="..."`."""
    job = None
    for m in selector.matchers.matchers:
        if m.name == "instance" and m.op == pp.MatchOp.Equal:
            return False
        if m.name == "job" and m.op == pp.MatchOp.Equal:
            job = m.value
    return job is None or job in jobs


def replica_problems(
    expr: str, gauges: Collection[str], counters: Collection[str], jobs: Collection[str]
) -> list[str]:
    """Why a query is not replica-safe (empty when it is). With several replicas of a job in
    `jobs`, each selector returns one series per replica, so the query must say how they
    combine:

    - a gauge read outside any aggregation;
    - a counter's rate or increase outside any aggregation (one line per replica);
    - `histogram_quantile` of anything but `sum by (le, ...)` (or `sum without` keeping `le`):
      replicas' quantiles cannot be combined, their buckets can.

    >>> replica_problems('max without (instance) (model_loaded{job="api"})', {"model_loaded"},
    ...                  (), {"api"})
    []
    >>> len(replica_problems('model_loaded{job="api"} == 0', {"model_loaded"}, (), {"api"}))
    1
    """
    problems: list[str] = []
    gauge_set, counter_set = set(gauges), set(counters)

    def visit(node: pp.Expr, aggregated: bool) -> None:
        if isinstance(node, pp.AggregateExpr) or (
            isinstance(node, pp.Call) and node.func.name in _COLLAPSING_FUNCTIONS
        ):
            aggregated = True
        elif isinstance(node, pp.Call) and node.func.name == "histogram_quantile":
            inner = node.args[1] if len(node.args) > 1 else None
            while isinstance(inner, pp.ParenExpr):
                inner = inner.expr
            if not _sums_keeping_le(inner):
                problems.append(
                    "histogram_quantile() of something other than `sum by (le, ...)`: "
                    "aggregate the replicas' buckets first"
                )
        if isinstance(node, pp.VectorSelector) and not aggregated and _replicated(node, jobs):
            for name in sorted(_names(node, gauge_set) & gauge_set):
                problems.append(f"gauge {name} read per replica: {_REPLICA_ADVICE}")
        if isinstance(node, pp.Call) and node.func.name in RANGE_FUNCTIONS and not aggregated:
            for arg in node.args:
                if isinstance(arg, pp.MatrixSelector) and _replicated(arg.vector_selector, jobs):
                    for name in sorted(_names(arg.vector_selector, counter_set) & counter_set):
                        problems.append(
                            f"{node.func.name}() of {name} per replica: sum it over replicas"
                        )
            return
        for child in _children(node):
            visit(child, aggregated)

    visit(parse(expr), False)
    return problems


def _sums_keeping_le(node: pp.Expr | None) -> bool:
    if not isinstance(node, pp.AggregateExpr) or str(node.op) != "sum":
        return False
    modifier = node.modifier
    if modifier is None:
        return False
    labels = set(modifier.labels)
    if modifier.type == pp.AggModifierType.By:
        return "le" in labels
    return "le" not in labels
