"""Tables on the terminal: rich's when it is installed, aligned plain text otherwise."""

import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table


def _console(width: int = 132) -> Console:
    # Measures print to the real stdout even when the instrumented one wraps it.
    stream = getattr(sys.stdout, "inner", sys.stdout)
    return Console(file=stream, width=max(width, Console(file=stream).width), highlight=False)


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    notes: Sequence[str] = (),
    row_lines: bool = False,
    width: int = 132,
) -> None:
    """row_lines: a rule between rows, for cells of several lines; width: the least width of the output."""
    console = _console(width)
    table = Table(title=title, title_justify="left", show_lines=row_lines)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        table.add_row(*(str(c) for c in row))
    console.print(table)
    for note in notes:
        console.print(f"  {note}", highlight=False, markup=False)
    console.print()


def say(text: str = "") -> None:
    stream = getattr(sys.stdout, "inner", sys.stdout)
    print(text, file=stream, flush=True)


def money(value: float) -> str:
    if value == 0:
        return "0.00"
    if abs(value) < 0.01:
        return f"{value:.5f}"
    if abs(value) < 100:
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def quantity(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.4g}"


def per_user(value: float) -> str:
    return f"{value:.4f}"


PER_MILLION_UNITS = ("request", "execution", "event", "WRU", "RRU", "call", "trace", "transition", "message")


def unit_price(price: float, unit: str) -> str:
    """3.5 USD per million requests reads better as "3.5/M request" than as 3.5e-06."""
    if price < 1e-3 and any(word in unit for word in PER_MILLION_UNITS):
        return f"{price * 1e6:.4g}/M {unit}"
    return f"{price:.6g}/{unit}"
