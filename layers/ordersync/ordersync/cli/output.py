"""What every command group shares about output: how a command speaks (Echo, one line at a time)
and the one-sentence error that ends it (CliError: exit 1, no traceback)."""

from __future__ import annotations

from collections.abc import Callable

Echo = Callable[[str], None]


class CliError(Exception):
    """A one-line, human message; the command exits 1 with it and no traceback."""
