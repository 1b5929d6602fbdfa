"""Argument types the command groups share: a sentence from argparse, not a traceback, for a number
out of range."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def at_least(least: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value)
        if number < least:
            raise argparse.ArgumentTypeError(f"at least {least}")
        return number

    return parse
