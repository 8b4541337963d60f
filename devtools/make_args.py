"""The command lines behind Make targets: a bad value names the Make variable it came from, in one line.

The Makefile turns each variable into a flag (``make local PORT=abc`` runs
``python -m devtools.local_stack --port 'abc'``). The user never typed the flag,
so argparse's usage block and its "argument --port: ..." would point at the
wrong thing. A ``MakeArgumentParser`` knows each flag's variable, and a value
that flag's type refuses stops the command with one line and exit code 2:

    make local: PORT='abc' is not a TCP port: use a whole number from 1 to 65535, e.g. make local PORT=5000

Every other usage error is one line too (``parser.error``), without the usage
block; ``--help`` still lists the flags with their variables.

Standard library only: ``make address`` runs before the virtual environment exists.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .processes import parse_port

EXIT_USAGE = 2


def port(raw: str) -> int:
    """A TCP port (1-65535)."""
    return parse_port(raw)


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """A converter for a whole number from ``low`` up (to ``high``, when given)."""
    span = f"from {low} to {high}" if high is not None else f"from {low} up"

    def convert(raw: str) -> int:
        text = raw.strip()
        if not (text.isascii() and text.isdigit()) or int(text) < low or (high is not None and int(text) > high):
            raise ValueError(f"{raw!r} is not a whole number {span}")
        return int(text)

    return convert


def number(low: float, *, inclusive: bool) -> Callable[[str], float]:
    """A converter for a finite decimal number above ``low`` (or from ``low`` up, when ``inclusive``)."""
    span = f"from {low:g} up" if inclusive else f"greater than {low:g}"

    def convert(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            raise ValueError(f"{raw!r} is not a number {span}")
        return value

    return convert


def one_of(names: Sequence[str], *, upper: bool = False) -> Callable[[str], str]:
    """A converter for one of ``names`` (compared in upper case when ``upper``, as log levels are)."""

    def convert(raw: str) -> str:
        value = raw.strip().upper() if upper else raw
        if value not in names:
            raise ValueError(f"{raw!r} is not one of {', '.join(names)}")
        return value

    return convert


class MakeArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` for ``make <target>``: its usage errors are one line naming the Make variable."""

    def __init__(self, target: str, description: str | None = None) -> None:
        super().__init__(prog=f"make {target}", description=description)

    def add_variable(
        self,
        variable: str,
        flag: str,
        convert: Callable[[str], Any] = str,
        *,
        default: Any = None,
        help: str,
        example: str | None = None,
    ) -> argparse.Action:
        """``flag``, given by the Makefile from ``variable``; ``convert`` raises ValueError saying why it refuses.

        ``example`` is a good value (default: ``default``); the line ends ``, e.g. make <target> VAR=<example>``
        unless the reason already gives examples of its own.
        """
        if example is None and default is not None:
            example = f"{default:g}" if isinstance(default, float) else str(default)

        def checked(raw: str) -> Any:
            try:
                return convert(raw)
            except (ValueError, argparse.ArgumentTypeError) as exc:
                reason = str(exc)
                hint = f", e.g. {self.prog} {variable}={example}" if example and "e.g." not in reason else ""
                self.error(f"{variable}={reason}{hint}")  # from inside argparse: it would rephrase a ValueError

        checked.__name__ = getattr(convert, "__name__", "value")
        return self.add_argument(flag, type=checked, default=default, help=f"{help} (Make: {variable})")

    def add_renamed(self, old: str, new: str, flag: str) -> None:
        """A Make variable renamed ``new``: the Makefile passes ``flag`` only when ``old`` was given, and it stops here.

        The message names the new variable with the value given, so the fix is to retype one word.
        """

        def refuse(raw: str) -> str:
            self.error(f"{old}={raw!r} is now called {new}: use {self.prog} {new}={raw}")

        self.add_argument(flag, type=refuse, help=argparse.SUPPRESS)

    def error(self, message: str) -> NoReturn:
        """One line, ``make <target>: <message>``, and exit 2: no usage block the user did not ask for."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n")
