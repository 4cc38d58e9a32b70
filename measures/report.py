"""Tables on the terminal: rich's when it is installed, aligned plain text otherwise."""

import io
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table


class _Sink(io.TextIOBase):
    """Stands for stdout while a local stack runs: the handlers' log lines are not the measures' output."""

    def __init__(self, inner):
        self.inner = inner

    def write(self, text: str) -> int:
        return len(text)


def quiet_handlers() -> None:
    if not hasattr(sys.stdout, "inner"):
        sys.stdout = _Sink(sys.stdout)


def _console() -> Console:
    # Measures print to the real stdout even when the instrumented one wraps it.
    stream = getattr(sys.stdout, "inner", sys.stdout)
    return Console(file=stream, width=max(132, Console(file=stream).width), highlight=False)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]], notes: Sequence[str] = ()) -> None:
    console = _console()
    table = Table(title=title, title_justify="left", show_lines=False)
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
