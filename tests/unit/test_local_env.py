"""`ordersync local env`: what `eval` makes of its lines in a real shell."""

from __future__ import annotations

import subprocess

from ordersync.cli.local_env import shell_variables


def test_each_store_s_url_and_credentials_become_shell_variables_whatever_their_characters() -> None:
    stores = {"acme-outfitters": {"url": "http://127.0.0.1:4001"}, "delta-goods": {"url": "http://127.0.0.1:4002/s/h"}}
    credentials = {"acme-outfitters": {"access_token": "shpat_x'y $z"}, "delta-goods": {"access_token": "bc_1"}}
    lines = shell_variables(stores, credentials)
    script = (
        "\n".join(lines)
        + '\nprintf "%s|%s|%s" "$ACME_OUTFITTERS_URL" "$ACME_OUTFITTERS_ACCESS_TOKEN" "$DELTA_GOODS_URL"'
    )
    shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    assert shown == "http://127.0.0.1:4001|shpat_x'y $z|http://127.0.0.1:4002/s/h"
