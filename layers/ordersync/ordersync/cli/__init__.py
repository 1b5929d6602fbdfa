"""The `ordersync` command (`ordersync.cli:main`): one module per command group (orders, catalog,
stores, connections, alerts, listings, dlq, drift, local, mail, tools), the shared output
(cli/output.py) and target (cli/target.py), and cli/main.py reading the command line."""

from ordersync.cli.local import LOCAL_UP_STOP
from ordersync.cli.main import main
from ordersync.cli.target import LOCAL_STATE

__all__ = ["LOCAL_STATE", "LOCAL_UP_STOP", "main"]
