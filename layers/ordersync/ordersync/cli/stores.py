"""`ordersync store ...`: buyer and seller stores — their credentials (tried before they are saved),
checks, rotation, removal and webhooks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ordersync.cli.output import CliError, Echo
from ordersync.cli.target import outputs_for
from ordersync.models import Platform, Role


def add_store_commands(commands: Any, target: argparse.ArgumentParser) -> None:
    store = commands.add_parser("store", help="buyer and seller stores and their credentials").add_subparsers(
        dest="store_command", required=True
    )
    credentials = argparse.ArgumentParser(add_help=False)
    credentials.add_argument(
        "--credentials-file",
        type=Path,
        help="a JSON object with the platform's credentials (- for standard input); without it they are"
        " read from standard input, or asked for without echo. Never as an argument: it stays in shell history",
    )
    add = store.add_parser("add", parents=[target, credentials], help="try a store's credentials, then save them")
    add.add_argument("store_id", metavar="STORE")
    add.add_argument("--platform", required=True, choices=[p.value for p in Platform])
    add.add_argument("--url", required=True, help="the store's base URL (https://...)")
    add.add_argument("--name", help="the store's name in emails (default: what the store calls itself)")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.BOTH.value, help="what it is used as")
    add.add_argument("--auto-post", action="store_true", help="BigCommerce seller: post automatically")
    add.set_defaults(run=_store_add)
    listing = store.add_parser("list", parents=[target], help="the stores, their secrets and last check")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_store_list)
    check = store.add_parser("check", parents=[target], help="try a store's saved credentials again")
    check.add_argument("store_id", metavar="STORE")
    check.set_defaults(run=_store_check)
    rotate = store.add_parser("rotate", parents=[target, credentials], help="replace a store's credentials")
    rotate.add_argument("store_id", metavar="STORE")
    rotate.set_defaults(run=_store_rotate)
    remove = store.add_parser("remove", parents=[target], help="remove a store no connection uses")
    remove.add_argument("store_id", metavar="STORE")
    remove.set_defaults(run=_store_remove)
    webhooks = store.add_parser("webhooks", help="a buyer store's order webhooks (the fast path)").add_subparsers(
        dest="webhooks_command", required=True
    )
    for verb, text, run in (
        ("register", "subscribe the store's order webhooks to this stack (again: changes nothing)", _webhooks_register),
        ("unregister", "remove the store's webhooks that point at this stack", _webhooks_unregister),
        ("list", "the store's webhooks, ours marked", _webhooks_list),
    ):
        command = webhooks.add_parser(verb, parents=[target], help=text)
        command.add_argument("store_id", metavar="STORE")
        command.set_defaults(run=run)


def onboarding(args: argparse.Namespace) -> Any:
    from ordersync.ops import onboarding_for

    return onboarding_for(outputs_for(args))


def _credentials(args: argparse.Namespace, platform: Platform) -> dict[str, Any]:
    """From a file, standard input, or asked for key by key without echo; never from an argument."""
    from ordersync.domain.onboarding import CREDENTIAL_KEYS

    source = args.credentials_file
    if source is None and sys.stdin.isatty():
        import getpass

        return {key: getpass.getpass(f"{platform.label} {key}: ") for key in CREDENTIAL_KEYS[platform]}
    text = sys.stdin.read() if source is None or str(source) == "-" else source.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise CliError("credentials: not a JSON object (nothing of it is shown here)") from None
    if not isinstance(document, dict):
        raise CliError("credentials: not a JSON object")
    return document


def _store_add(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.onboarding import add_store

    platform = Platform(args.platform)
    deps = onboarding(args)
    store = add_store(
        args.store_id,
        platform,
        args.url,
        Role(args.role),
        _credentials(args, platform),
        deps,
        name=args.name,
        auto_post=args.auto_post,
    )
    echo(f"{store.store_id}: {store.name} ({platform.label}, {store.base_url}) accepted the credentials")
    echo(f"  credentials saved in {store.secret_arn}")
    return 0


def _store_list(args: argparse.Namespace, echo: Echo) -> int:
    stores = onboarding(args).stores.all()
    if args.json:
        echo(json.dumps([store.model_dump(mode="json") for store in stores], indent=2))
        return 0
    for store in stores:
        echo(
            f"{store.store_id:<20} {store.platform.value:<12} {store.role.value:<7} {store.name:<24}"
            f" checked {store.checked_at.isoformat()}: {store.check_result}"
        )
        echo(f"{'':<20} {store.base_url}  {store.secret_arn}")
    echo(f"{len(stores)} store(s)")
    return 0


def _store_check(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.onboarding import check_store

    store = check_store(args.store_id, onboarding(args))
    echo(f"{store.store_id}: {store.name} accepts the saved credentials ({store.checked_at.isoformat()})")
    return 0


def _store_rotate(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.onboarding import known_store, rotate_store

    deps = onboarding(args)
    platform = known_store(args.store_id, deps).platform
    store = rotate_store(args.store_id, _credentials(args, platform), deps)
    echo(f"{store.store_id}: new credentials accepted and saved in {store.secret_arn}")
    return 0


def _store_remove(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.aws.secrets import RECOVERY_DAYS
    from ordersync.services.onboarding import remove_store

    store = remove_store(args.store_id, onboarding(args))
    echo(f"{store.store_id} removed; its secret can be restored for {RECOVERY_DAYS} days")
    return 0


def _webhook_admin(args: argparse.Namespace) -> Any:
    from ordersync.ops import webhook_admin_for

    return webhook_admin_for(outputs_for(args))


def _webhooks_register(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.webhook_subscriptions import register_webhooks

    change = register_webhooks(args.store_id, _webhook_admin(args))
    made = ", ".join(change.made) or "nothing new (all there already)"
    echo(f"{change.store_id}: webhooks to {change.url}: subscribed {made}")
    if change.removed:
        echo(f"  replaced (made with another secret or topic): {', '.join(change.removed)}")
    if change.reactivated:
        echo(f"  re-enabled (the store had stopped delivering to them): {', '.join(change.reactivated)}")
    echo(f"  {len(change.connections)} connection(s) marked as fed by webhooks; the hourly pull stays the safety net")
    return 0


def _webhooks_unregister(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.webhook_subscriptions import unregister_webhooks

    change = unregister_webhooks(args.store_id, _webhook_admin(args))
    echo(f"{change.store_id}: removed {len(change.removed)} webhook(s) to {change.url}; the hourly pull carries on")
    return 0


def _webhooks_list(args: argparse.Namespace, echo: Echo) -> int:
    from ordersync.services.webhook_subscriptions import list_webhooks

    url, subscriptions = list_webhooks(args.store_id, _webhook_admin(args))
    for subscription in subscriptions:
        mark = "*" if subscription.url == url else " "
        state = subscription.state + ("" if subscription.active else " (register again to re-enable)")
        echo(f"{mark} {subscription.subscription_id:<10} {subscription.topic:<24} {state:<10} {subscription.url}")
    echo(f"{len(subscriptions)} webhook(s); * = to this stack ({url})")
    return 0
