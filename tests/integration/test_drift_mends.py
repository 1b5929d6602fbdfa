"""Every mend the drift check prints as a command works as printed: a cancellation and an address
change that never reached the seller (no webhook, no pull since), and a parcel the buyer's store
refused (its fulfillment order on hold) — each printed by `ordersync drift`, each command run as it
reads, and the next drift check finds the stores agreeing."""

from __future__ import annotations

import shlex
from itertools import pairwise
from typing import Any

import pytest

from ordersync.aws.orders import DynamoOrders
from ordersync.local.fakes.shopify import gid, order_node
from ordersync.local.stack import LocalStack
from ordersync.local.world import World
from ordersync.models import FailureReason, OrderStatus

from .marketplace import ADDRESS, run_hour, shopify_to_woocommerce

MOVED = {**ADDRESS, "address1": "1 Pike St", "address2": None, "zip": "98101"}


def _mends(cli: Any) -> dict[str, tuple[str, str]]:
    """`ordersync drift` as printed: order key -> (kind, mend)."""
    code, out = cli("drift")
    assert code == 0, out
    lines = out.splitlines()
    found = {}
    for said, mend in pairwise(lines):
        if mend.strip().startswith("mend: "):
            key, kind = said.split()[:2]
            found[key] = (kind.rstrip(":"), mend.strip().removeprefix("mend: "))
    return found


@pytest.mark.stack(ParcelWaitDays=0)  # a parcel the shop holds back kept in ShipmentsDLQ at once: the mend redrives it
def test_each_mend_the_drift_check_prints_as_a_command_makes_the_stores_agree(
    stack: LocalStack, world: World, cli: Any
) -> None:
    acme, northwind = shopify_to_woocommerce(world)
    for number in (1701, 1702, 1703):
        acme.add_order(order_node(number, f"#{number}", [("NW-STOVE", "Camp Stove", 1, "89.50")], ADDRESS))
    run_hour(stack)
    acme.orders[gid("Order", 1701)]["cancelledAt"] = "2026-12-07T10:00:00Z"  # in the admin; no webhook, no pull
    acme.orders[gid("Order", 1702)]["shippingAddress"] = MOVED
    acme.hold_fulfillment(1703, "INCORRECT_ADDRESS", "customer to confirm the flat number")
    copies = {str(o["meta_data"][0]["value"]).rsplit("-", 1)[-1]: o for o in northwind.created_orders()}
    northwind.ship(copies["1703"]["id"], tracking=("UPS", "1Z999AA10123456784", None))
    stack.runner.fire_schedules("SweepShipmentsFunction")  # the :40 sweep: the held order refuses the parcel
    stack.runner.drain()
    orders = DynamoOrders(stack.output("OrdersTableName"))
    held = orders.get("acme--northwind#1703")
    assert held is not None and held.parcels[0].reason is FailureReason.PARCEL_WAITING
    acme.hold_fulfillment(1703, None)  # the retailer confirmed the address: the hold is released

    mends = _mends(cli)
    assert {key: kind for key, (kind, _) in mends.items()} == {
        "acme--northwind#1701": "CANCELLED_BY_BUYER_ONLY",
        "acme--northwind#1702": "ADDRESS_DIFFERS",
        "acme--northwind#1703": "PARCEL_NOT_IN_BUYER_STORE",
    }
    for _, mend in mends.values():
        command = mend.split("  (", 1)[0]  # what follows two spaces is why
        assert command.startswith("ordersync "), mend
        code, out = cli(*shlex.split(command)[1:])
        assert code == 0, f"{command}\n{out}"
        stack.runner.drain()

    assert _mends(cli) == {}
    cancelled = orders.get("acme--northwind#1701")
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert copies["1701"]["status"] == "cancelled" and copies["1702"]["shipping"]["address_1"] == "1 Pike St"
    (fulfilment,) = acme.orders[gid("Order", 1703)]["fulfillments"]
    assert fulfilment["_tracking"][0]["number"] == "1Z999AA10123456784"
