"""Conditions of the red-flag rules, written as data in ``redflags.yaml`` and evaluated on the intake's facts.

A condition is a mapping with exactly one of these forms::

    {fact: NAME}                       true when the answer is yes (truthy)
    {fact: NAME, OP: VALUE}            OP: is, eq, ne, in, lt, le, gt, ge, missing (true = not given)
    {all: [COND, ...]}  {any: [COND, ...]}  {not: COND}  {at_least: N, of: [COND, ...]}
    {use: NAME}                        a named condition from the file's ``conditions:`` section

VALUE (and N) may be ``$name``, a value from the file's ``thresholds:`` section. A leaf may carry ``label`` (words
for the report, with ``{value}`` = the answer and ``{limit}`` = the compared value) or ``quiet: true`` (it counts
but is not listed). A comparison with an answer that was not given is false, except ``ne`` and ``missing``.
Evaluating a condition returns whether it holds, with the labels and facts of the answers that made it hold.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
}
_OPS = (*_COMPARE, "is", "in", "missing")
_OP_WORDS = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "in"}


class ConditionError(ValueError):
    """A condition in the rule file is malformed (message names where)."""


@dataclass(frozen=True)
class Outcome:
    """Whether a condition holds, and the words (``labels``) and facts (``answers``) that made it hold."""

    holds: bool
    labels: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()


_FALSE = Outcome(False)


@dataclass(frozen=True)
class Leaf:
    fact: str
    op: str
    value: Any
    label: str | None
    quiet: bool

    def evaluate(self, facts: Mapping[str, Any]) -> Outcome:
        actual = facts.get(self.fact)
        if self.op == "missing":
            holds = (actual is None) is bool(self.value)
        elif self.op == "is":
            holds = bool(actual) is bool(self.value)
        elif self.op == "ne":
            holds = actual != self.value
        elif actual is None:
            holds = False
        elif self.op == "in":
            holds = actual in self.value
        else:
            try:
                holds = bool(_COMPARE[self.op](actual, self.value))
            except TypeError:
                holds = False
        if not holds:
            return _FALSE
        if self.quiet:
            return Outcome(True)
        return Outcome(True, (self._words(actual),), (self.fact,))

    def _words(self, actual: Any) -> str:
        if self.label is not None:
            return self.label.format(value=_fmt(actual), limit=_fmt(self.value))
        name = self.fact.rsplit(".", 1)[-1].replace("_", " ")
        if self.op == "is":
            return name if self.value else f"no {name}"
        if self.op == "missing":
            return f"{name} not given" if self.value else f"{name} {_fmt(actual)}"
        return f"{name} {_fmt(actual)} ({_OP_WORDS[self.op]} {_fmt(self.value)})"


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    return str(v)


@dataclass(frozen=True)
class Group:
    kind: str  # "all" | "any"
    children: tuple[Any, ...]

    def evaluate(self, facts: Mapping[str, Any]) -> Outcome:
        results = [c.evaluate(facts) for c in self.children]
        holds = all(r.holds for r in results) if self.kind == "all" else any(r.holds for r in results)
        return _joined(holds, results)


@dataclass(frozen=True)
class AtLeast:
    n: int
    children: tuple[Any, ...]

    def evaluate(self, facts: Mapping[str, Any]) -> Outcome:
        results = [c.evaluate(facts) for c in self.children]
        return _joined(sum(r.holds for r in results) >= self.n, results)


@dataclass(frozen=True)
class Not:
    child: Any
    label: str | None

    def evaluate(self, facts: Mapping[str, Any]) -> Outcome:
        if self.child.evaluate(facts).holds:
            return _FALSE
        return Outcome(True, (self.label,) if self.label else ())


def _joined(holds: bool, results: Sequence[Outcome]) -> Outcome:
    if not holds:
        return _FALSE
    labels = tuple(dict.fromkeys(lab for r in results if r.holds for lab in r.labels))
    answers = tuple(dict.fromkeys(a for r in results if r.holds for a in r.answers))
    return Outcome(True, labels, answers)


Condition = Leaf | Group | AtLeast | Not


def compile_condition(raw: Any, *, where: str, thresholds: Mapping[str, Any], named: Mapping[str, Any],
                      facts: frozenset[str], _stack: tuple[str, ...] = ()) -> Condition:
    """Parse one condition (see the module docstring); :class:`ConditionError` names ``where`` on a problem."""
    if not isinstance(raw, Mapping):
        raise ConditionError(f"{where}: a condition must be a mapping, got {type(raw).__name__}")
    kw = dict(thresholds=thresholds, named=named, facts=facts, _stack=_stack)
    keys = set(raw)
    if "use" in keys:
        _only(raw, {"use"}, where)
        name = str(raw["use"])
        if name not in named:
            raise ConditionError(f"{where}: unknown named condition {name!r}")
        if name in _stack:
            raise ConditionError(f"{where}: named condition {name!r} refers to itself")
        return compile_condition(named[name], where=f"conditions.{name}", **{**kw, "_stack": (*_stack, name)})
    if "all" in keys or "any" in keys:
        kind = "all" if "all" in keys else "any"
        _only(raw, {kind}, where)
        items = raw[kind]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"{where}.{kind}: must be a non-empty list of conditions")
        return Group(kind, tuple(compile_condition(c, where=f"{where}.{kind}[{i}]", **kw) for i, c in enumerate(items)))
    if "at_least" in keys:
        _only(raw, {"at_least", "of"}, where)
        n = _resolve(raw["at_least"], thresholds, f"{where}.at_least")
        items = raw.get("of")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConditionError(f"{where}.at_least: must be a whole number ≥ 1")
        if not isinstance(items, list) or len(items) < n:
            raise ConditionError(f"{where}.of: must list at least {n} conditions")
        return AtLeast(n, tuple(compile_condition(c, where=f"{where}.of[{i}]", **kw) for i, c in enumerate(items)))
    if "not" in keys:
        _only(raw, {"not", "label"}, where)
        return Not(compile_condition(raw["not"], where=f"{where}.not", **kw), raw.get("label"))
    if "fact" in keys:
        return _leaf(raw, where, thresholds, facts)
    raise ConditionError(f"{where}: expected one of fact, all, any, not, at_least, use (got {sorted(keys)})")


def _leaf(raw: Mapping[str, Any], where: str, thresholds: Mapping[str, Any], facts: frozenset[str]) -> Leaf:
    fact = str(raw["fact"])
    if fact not in facts:
        raise ConditionError(f"{where}: unknown fact {fact!r}")
    ops = [k for k in raw if k in _OPS]
    extra = set(raw) - {"fact", "label", "quiet", *_OPS}
    if extra or len(ops) > 1:
        raise ConditionError(f"{where}: a fact takes one operator ({', '.join(_OPS)}) plus label/quiet; "
                             f"got {sorted(set(raw) - {'fact'})}")
    op = ops[0] if ops else "is"
    value = _resolve(raw[op], thresholds, f"{where}.{op}") if ops else True
    if op in ("is", "missing") and not isinstance(value, bool):
        raise ConditionError(f"{where}.{op}: must be true or false")
    if op == "in" and not isinstance(value, list):
        raise ConditionError(f"{where}.in: must be a list")
    label = raw.get("label")
    return Leaf(fact, op, tuple(value) if op == "in" else value, None if label is None else str(label),
                bool(raw.get("quiet", False)))


def _resolve(value: Any, thresholds: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name not in thresholds:
            raise ConditionError(f"{where}: unknown threshold {value!r}")
        return thresholds[name]
    return value


def _only(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = set(raw) - allowed
    if extra:
        raise ConditionError(f"{where}: unexpected key(s) {sorted(extra)} next to {sorted(allowed)}")
