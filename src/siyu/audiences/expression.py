"""An audience: a boolean expression over tags, tag values and numeric fields, kept as a typed JSON tree
and written in a readable text form, e.g.

    会员等级 in (钻石, 王者) and points > 1000 and not tag(沉睡)

- ``NAME in (V, …)`` / ``NAME = V``: carries tag NAME with one of the values (NAME may be the tag's
  English name in snake case: ``tier`` for 会员等级);
- ``tag(X)``: carries tag X (any value), or any tag whose value is X;
- ``FIELD op NUMBER`` with op one of ``< <= > >= = !=``: a numeric field (``points``, ``spend_90d`` in
  yuan, ``frequency``, ``age``…; see ``FIELDS``);
- ``and``, ``or``, ``not`` and parentheses; values may be quoted ("…" or '…').

The parser is a small recursive descent over a tokenizer: it never evaluates or executes anything, and
what it accepts is only ever compared with stored values (no SQL is built from it).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from siyu.core.errors import InvalidInput

# Numeric fields: name → (the person_facts measure, divisor to show it in its unit)
FIELDS: dict[str, tuple[str, int]] = {
    "points": ("points", 1), "spend_90d": ("spend_90d_fen", 100), "spend_365d": ("spend_365d_fen", 100),
    "spend": ("monetary_fen", 100), "frequency": ("frequency", 1), "orders_90d": ("orders_90d", 1),
    "orders_365d": ("orders_365d", 1), "recency_days": ("recency_days", 1), "age": ("age", 1),
    "member_days": ("member_days", 1), "avg_order": ("avg_order_fen", 100), "events_30d": ("events_30d", 1),
}
MAX_DEPTH = 40
MAX_LENGTH = 4000


class TagIn(BaseModel):
    tag: str
    values: list[str] = Field(alias="in", min_length=1)

    model_config = {"populate_by_name": True}


class TagAny(BaseModel):
    has: str  # a tag name, or a value of some tag


class Compare(BaseModel):
    field: str
    op: Literal["<", "<=", ">", ">=", "=", "!="]
    value: float


class And(BaseModel):
    and_: list[Node] = Field(alias="and", min_length=1)

    model_config = {"populate_by_name": True}


class Or(BaseModel):
    or_: list[Node] = Field(alias="or", min_length=1)

    model_config = {"populate_by_name": True}


class Not(BaseModel):
    not_: Node = Field(alias="not")

    model_config = {"populate_by_name": True}


Node = Annotated[And | Or | Not | TagIn | TagAny | Compare, Field(union_mode="left_to_right")]
for _m in (And, Or, Not):
    _m.model_rebuild()


class ParseError(InvalidInput):
    pass


TOKEN = re.compile(r"""\s*(?:(?P<num>-?\d+(?:\.\d+)?)(?![^\s(),=<>!"'])|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),])
                       |"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<word>[^\s(),=<>!"']+))""", re.X)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, i = [], 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        m = TOKEN.match(text, i)
        if m is None or m.end() == i:
            raise ParseError(f"audience: cannot read {text[i:i + 20]!r} at position {i}")
        kind = m.lastgroup or ""
        value, start = m.group(kind), m.start(kind)
        if kind in ("dq", "sq"):
            kind, value = "str", re.sub(r"\\(.)", r"\1", value)
        out.append((kind, value, start))
        i = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ParseError(f"audience: the expression is longer than {MAX_LENGTH} characters")
        self.toks, self.i, self.depth = _tokens(text), 0, 0

    def peek(self, k: int = 0) -> tuple[str, str, int] | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def word(self, w: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t[0] == "word" and t[1].lower() == w

    def take(self, kind: str, value: str | None = None) -> tuple[str, str, int]:
        t = self.peek()
        if t is None or t[0] != kind or (value is not None and t[1] != value):
            where = f"at position {t[2]} ({t[1]!r})" if t else "at the end"
            raise ParseError(f"audience: expected {value or kind} {where}")
        self.i += 1
        return t

    def parse(self) -> Node:
        if not self.toks:
            raise ParseError("audience: the expression is empty")
        node = self.or_()
        if self.peek() is not None:
            t = self.peek()
            raise ParseError(f"audience: unexpected {t[1]!r} at position {t[2]}")  # type: ignore[index]
        return node

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"audience: nested deeper than {MAX_DEPTH} levels")

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.word("or"):
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Or(or_=parts)

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.word("and"):
            self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else And(and_=parts)

    def not_(self) -> Node:
        if self.word("not"):
            self.i += 1
            self._nest()
            node = Not(not_=self.not_())
            self.depth -= 1
            return node
        return self.atom()

    def value(self) -> str:
        t = self.peek()
        if t is None or t[0] not in ("word", "str", "num"):
            where = f"at position {t[2]} ({t[1]!r})" if t else "at the end"
            raise ParseError(f"audience: expected a value {where}")
        self.i += 1
        return t[1]

    def atom(self) -> Node:
        t = self.peek()
        if t is None:
            raise ParseError("audience: an expression ends too early")
        if t[0] == "punct" and t[1] == "(":
            self.i += 1
            self._nest()
            node = self.or_()
            self.depth -= 1
            self.take("punct", ")")
            return node
        if self.word("tag") and (n := self.peek(1)) is not None and n[1] == "(":
            self.i += 2
            has = self.value()
            self.take("punct", ")")
            return TagAny(has=has)
        name = self.value()
        if self.word("in"):
            self.i += 1
            self.take("punct", "(")
            values = [self.value()]
            while (n := self.peek()) is not None and n[1] == ",":
                self.i += 1
                values.append(self.value())
            self.take("punct", ")")
            return TagIn(tag=name, values=values)
        op = self.take("op")[1]
        right = self.peek()
        if name in FIELDS:
            if right is None or right[0] != "num":
                raise ParseError(f"audience: {name} {op} needs a number")
            self.i += 1
            return Compare(field=name, op=op, value=float(right[1]))  # type: ignore[arg-type]
        if op != "=":
            known = ", ".join(sorted(FIELDS))
            raise ParseError(f"audience: {name!r} is not a numeric field ({known}); a tag takes = or in (…)")
        return TagIn(tag=name, values=[self.value()])


def parse(text: str) -> Node:
    """The tree of a readable expression; ``ParseError`` (naming the position) if it is not one."""
    return _Parser(text).parse()


def _quote(v: str) -> str:
    return v if re.fullmatch(r"[^\s(),=<>!\"']+", v) and v.lower() not in ("and", "or", "not", "in", "tag") \
        and not re.fullmatch(r"-?\d+(\.\d+)?", v) else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text(node: Node) -> str:
    """The readable form of a tree (``parse(text(t)) == t``)."""
    if isinstance(node, And):
        return " and ".join(f"({text(x)})" if isinstance(x, Or) else text(x) for x in node.and_)
    if isinstance(node, Or):
        return " or ".join(text(x) for x in node.or_)
    if isinstance(node, Not):
        inner = text(node.not_)
        return f"not ({inner})" if isinstance(node.not_, And | Or) else f"not {inner}"
    if isinstance(node, TagIn):
        return f"{_quote(node.tag)} in ({', '.join(_quote(v) for v in node.values)})"
    if isinstance(node, TagAny):
        return f"tag({_quote(node.has)})"
    value = int(node.value) if node.value == int(node.value) else node.value
    return f"{node.field} {node.op} {value}"
