"""`ordersync local env`: each running local store's URL and credentials as shell variables
(`eval "$(ordersync local env)"`), so its own API can be called as its merchant would — README's
"Try it" places, changes, ships and cancels orders with them."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from typing import Any

from ordersync.cli.output import Echo
from ordersync.cli.target import LOCAL_STATE, local_stack_state


def add_local_env_command(local: Any) -> None:
    env = local.add_parser(
        "env", help='each local store\'s URL and credentials as shell variables: eval "$(ordersync local env)"'
    )
    env.add_argument("--local", action="store_true", help=argparse.SUPPRESS)  # always the local stack
    env.set_defaults(run=_env, local=True)


def shell_variables(stores: dict[str, dict[str, str]], credentials: dict[str, dict[str, str]]) -> list[str]:
    """STORE_URL and STORE_<CREDENTIAL> per store (acme-outfitters: ACME_OUTFITTERS_URL,
    ACME_OUTFITTERS_ACCESS_TOKEN), each an `export` line, values quoted for the shell."""
    lines: list[str] = []
    for store_id, store in sorted(stores.items()):
        prefix = re.sub(r"[^A-Z0-9]", "_", store_id.upper())
        values = {"URL": store["url"], **{key.upper(): value for key, value in credentials.get(store_id, {}).items()}}
        lines.extend(f"export {prefix}_{name}={shlex.quote(str(value))}" for name, value in values.items())
    return lines


def _env(_args: argparse.Namespace, echo: Echo) -> int:
    stores: dict[str, dict[str, str]] = local_stack_state().get("stores", {})
    credentials = {
        store_id: json.loads((LOCAL_STATE.parent / f"{store_id}.json").read_text(encoding="utf-8"))
        for store_id in stores
    }
    for line in shell_variables(stores, credentials):
        echo(line)
    return 0
