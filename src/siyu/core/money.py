"""Money is Decimal yuan in Python and integer fen in storage; it never passes through float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_FEN = Decimal("0.01")


class MoneyError(ValueError):
    pass


def parse_yuan(text: str | int | Decimal) -> Decimal:
    """'1,299.00', '¥88', '88元' → Decimal; more than two decimals is an error, never a rounding."""
    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int):
        value = Decimal(text)
    else:
        cleaned = str(text).strip().replace(",", "").replace("¥", "").replace("￥", "").removesuffix("元")
        if cleaned == "":
            raise MoneyError("empty amount")
        try:
            value = Decimal(cleaned)
        except InvalidOperation as exc:
            raise MoneyError(f"not an amount: {text!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not an amount: {text!r}")
    if value != value.quantize(_FEN):
        raise MoneyError(f"more than two decimals: {text!r}")
    return value.quantize(_FEN)


def to_fen(value: Decimal) -> int:
    return int((value * 100).to_integral_exact())


def yuan_to_fen(text: str | int | Decimal) -> int:
    return to_fen(parse_yuan(text))


def fen_to_yuan(fen: int) -> Decimal:
    """Exact: fen ÷ 100 as Decimal."""
    return (Decimal(int(fen)) / 100).quantize(_FEN)


def format_yuan(fen: int) -> str:
    return f"{fen_to_yuan(fen):,.2f}"
