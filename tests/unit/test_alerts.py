"""What sellers and ops read, word for word: alert emails, digests, DLQ bodies, the manual posting
instructions. Pure: no AWS, no store."""

from __future__ import annotations

import json
from typing import Any

from ordersync.alerts.digest import MAX_BODY_BYTES, OutgoingEmail, QueuedAlert, plan_emails
from ordersync.alerts.messages import (
    compose_alert,
    dlq_message,
    email_subject,
    manual_posting_instructions,
    manual_posting_subjects,
    message_fields,
)
from ordersync.domain.decide import decide
from ordersync.models import Cause, FailureReason, OrderEnvelope, OrderStatus, Platform, ShippingAddress
from ordersync.records import OrderRecord

from .catalog_builders import NOW, catalog, line, order, variant


def record(seller_platform: str = "woocommerce", **fields: Any) -> OrderRecord:
    values: dict[str, Any] = {
        "order_key": "acme--northwind#1001",
        "connection_id": "acme--northwind",
        "order_id": "1001",
        "order_number": "#1001",
        "buyer_id": "acme",
        "buyer_name": "Acme Outfitters",
        "buyer_platform": "shopify",
        "seller_id": "northwind",
        "seller_name": "Northwind Supply",
        "seller_platform": seller_platform,
        "status": OrderStatus.RECEIVED,
        "envelope": {"connection_id": "acme--northwind", "order_id": "1001"},
    }
    return OrderRecord(**(values | fields))


def decided(*lines: Any, platform: Platform = Platform.WOOCOMMERCE, **order_fields: Any) -> OrderRecord:
    result = record(platform.value)
    slice_ = catalog(variant("TENT-V2", "1"), variant("LAMP", "4"), variant("LAMP", "5"), variant("A", "6"))
    result.apply(
        decide(order(*lines, **order_fields), slice_, platform, seller_active_skus=["TENT-V2"]), NOW, Cause.PULL
    )
    return result


def test_a_sku_mismatch_email_tells_the_seller_what_happened_and_what_to_do() -> None:
    alert = compose_alert(decided(line("TENT", 2, line_id="1"), line("A", line_id="2")))
    assert alert is not None
    assert (
        alert.subject == "Order #1001 from Acme Outfitters couldn't be synced to your WooCommerce store (SKU mismatch)"
    )
    assert alert.seller_body is not None
    assert alert.seller_body.startswith(
        "Hello Northwind Supply,\n\n"
        "Order #1001 from Acme Outfitters (placed in their Shopify store)\n"
        "could not be synced to your WooCommerce store automatically.\n\n"
        "Lines:\n"
        "  - 2 x SKU TENT (blank title)  <- SKU not found (did you mean TENT-V2?)\n"
        "  - 1 x SKU A Product A\n\n"
        "What happened: a product on this order has a SKU that none of your active products carries.\n"
    )
    assert alert.seller_body.endswith("syncs on its own.\n\n- The ordersync team\n")
    assert alert.ops_body == (
        "order_key: acme--northwind#1001\norder: #1001 (1001)\n"
        "buyer: acme (shopify)  seller: northwind (woocommerce)\n"
        "status: FAILED  reason: SKU_MISMATCH\n"
        "detail: line 1 (buyer title TENT): SKU 'TENT' matches no active variant; closest: TENT-V2\n"
        "failing lines:\n  - line 1 sku=TENT sku_mismatch \n"
        "DLQ message id: -\n"
        "fix: Ask the seller for the new SKU, then: ordersync sku alias add northwind OLD_SKU NEW_SKU "
        "(replays every order the old SKU blocked).\n"
    )


def test_a_duplicate_sku_email_marks_the_line_and_ops_see_the_candidates() -> None:
    alert = compose_alert(decided(line("LAMP", line_id="7"), line("TIP", requires_shipping=False)))
    assert alert is not None and alert.seller_body is not None
    assert alert.subject.endswith("(duplicate SKU)")
    assert "  - 1 x SKU LAMP Undefined  <- SKU on several products\n\n" in alert.seller_body  # the tip isn't listed
    assert "TIP" not in alert.seller_body
    assert "  - line 7 sku=LAMP duplicate_sku [{'product_id': 'P4', 'variant_id': '4'" in alert.ops_body
    assert "fix: Have the seller remove or rename the extra variant (candidates listed), then: " in alert.ops_body


def test_a_line_without_sku_reads_none_in_the_email() -> None:
    alert = compose_alert(decided(line(None, line_id="3")))
    assert alert is not None and alert.seller_body is not None
    assert "  - 1 x SKU (none) (blank title)  <- SKU not found\n" in alert.seller_body


def test_an_order_without_number_is_named_by_its_id_and_a_bigcommerce_seller_is_told_it_is_handled() -> None:
    pending = decided(line("A"), platform=Platform.BIGCOMMERCE)
    pending.order_number = ""
    alert = compose_alert(pending)
    assert alert is not None
    assert alert.subject == "Order 1001 from Acme Outfitters is ready to process - our team will post it for you"
    assert alert.seller_body is not None and "your store is on BigCommerce" in alert.seller_body


def test_nothing_to_say_without_a_reason_and_ops_only_for_what_sellers_cant_act_on() -> None:
    assert compose_alert(record()) is None
    unreadable = record(status=OrderStatus.FAILED, reason=FailureReason.INVALID_ORDER, detail="bad")
    alert = compose_alert(unreadable)
    assert alert is not None and alert.seller_body is None
    assert (
        alert.subject
        == "Order #1001 from Acme Outfitters couldn't be synced to your WooCommerce store (unreadable order)"
    )


def test_subjects_are_one_line_and_cut_visibly_at_snss_limit() -> None:
    assert email_subject("a\nb\t c") == "a b c"
    assert email_subject("x" * 100) == "x" * 100
    assert email_subject("x" * 101) == "x" * 97 + "..."
    assert email_subject("x" * 96 + " " + "y" * 10) == "x" * 96 + "..."  # no space before the dots
    subjects = manual_posting_subjects(decided(line("A"), platform=Platform.BIGCOMMERCE))
    assert subjects == {
        "seller_pending": "Order #1001 from Acme Outfitters is ready to process - our team will post it for you",
        "seller_posted": "Order #1001 from Acme Outfitters is now in your BigCommerce store",
        "ops_task": "[ops] Post order #1001 to Northwind Supply's BigCommerce store by hand",
        "ops_escalation": "[ops] ESCALATION: order #1001 still waits to be posted by hand",
        "ops_gave_up": "[ops] Order #1001 was not posted by hand and is now FAILED",
        "ops_rejected": "[ops] Manual posting of order #1001 was rejected",
        "ops_flow_failed": "[ops] The manual posting flow of order #1001 failed",
        "ops_not_recorded": "[ops] Order #1001 was posted by hand but its record was not written",
    }
    assert manual_posting_subjects(record(order_number=""))["seller_pending"] == "Order 1001 is ready to process"


def test_the_dlq_body_explains_itself_and_carries_what_a_redrive_needs() -> None:
    failed = decided(line("TENT", line_id="1"))
    failed.dlq_message_id = "m-1"
    body, attributes = dlq_message(failed, None)
    assert body["summary"] == "Order #1001 from Acme Outfitters to Northwind Supply failed: SKU_MISMATCH"
    assert (body["reason"], body["order_key"], body["order_id"], body["seller_id"]) == (
        "SKU_MISMATCH",
        "acme--northwind#1001",
        "1001",
        "northwind",
    )
    assert body["detail"] == failed.detail
    assert [line["line_id"] for line in body["failing_lines"]] == ["1"]
    assert body["what_to_do"].startswith("Ask the seller for the new SKU, then: ordersync sku alias add northwind ")
    assert body["envelope"] == failed.envelope
    assert attributes == {"order_id": "1001", "seller_id": "northwind", "reason": "SKU_MISMATCH"}
    unreadable, _ = dlq_message(record(order_number=""), None)  # no reason recorded: an unreadable order
    assert unreadable["summary"] == "Order 1001 from Acme Outfitters to Northwind Supply failed: INVALID_ORDER"


def test_dlq_messages_are_read_back_whoever_wrote_them() -> None:
    ours, attributes = dlq_message(decided(line("TENT")), None)
    message = {
        "MessageId": "m-1",
        "Body": json.dumps(ours),
        "MessageAttributes": {k: {"StringValue": v, "DataType": "String"} for k, v in attributes.items()},
    }
    assert message_fields(message) == {
        "message_id": "m-1",
        "order_key": "acme--northwind#1001",
        "order_id": "1001",
        "seller_id": "northwind",
        "reason": "SKU_MISMATCH",
        "summary": "Order #1001 from Acme Outfitters to Northwind Supply failed: SKU_MISMATCH",
        "detail": ours["detail"],  # why, and what to do: `dlq list` shows both
        "what_to_do": ours["what_to_do"],
        "payload": ours["envelope"].get("payload"),  # the buyer's order, which the INVALID_ORDER email sends ops to
    }
    assert "TENT" in ours["detail"] and "sku alias add" in ours["what_to_do"]
    # moved there by SQS after maxReceiveCount: the bare envelope, a transient failure
    bare = {
        "MessageId": "m-2",
        "Body": json.dumps({"connection_id": "acme--northwind", "order_id": "9", "seller_id": "n"}),
    }
    assert message_fields(bare) == {
        "message_id": "m-2",
        "order_key": "acme--northwind#9",
        "order_id": "9",
        "seller_id": "n",
        "reason": "PLATFORM_UNAVAILABLE",
        "summary": "",
        "detail": "",
        "what_to_do": "",
        "payload": None,
    }
    for garbage in ("not json", "[1, 2]"):
        fields = message_fields({"MessageId": "m-3", "Body": garbage})
        assert (fields["order_id"], fields["reason"], fields["summary"]) == (None, "PLATFORM_UNAVAILABLE", "")


def test_manual_posting_instructions_hold_everything_ops_type_in() -> None:
    address = ShippingAddress(
        name="Mina Okafor",
        company="Harbour Co",
        address1="12 Harbour Rd",
        address2=None,
        city="Portland",
        province_code="ME",
        postal_code="04101",
        country_code="US",
        phone="207 555 0100",
    )
    canonical = order(line("A", 2), shipping_address=address, currency="EUR")
    decision = decide(canonical, catalog(variant("A", "6")), Platform.BIGCOMMERCE)
    pending = record("bigcommerce")
    pending.apply(decision, NOW, Cause.PULL)
    text = manual_posting_instructions(pending, canonical, decision, "exec-1")
    assert text == (
        "Order #1001 from Acme Outfitters must be entered by hand in Northwind Supply's BigCommerce store "
        "(seller northwind).\n\n"
        "Lines:\n  - 2 x SKU A: Product A (product P6, variant 6) at 10.00 EUR\n\n"
        "Ship to:\n  Mina Okafor\n  Harbour Co\n  12 Harbour Rd\n  04101 Portland\n  ME US\n  phone 207 555 0100\n\n"
        "When it is entered: ordersync manual complete acme--northwind#1001 --bigcommerce-order-id N\n"
        'If it can\'t be: ordersync manual reject acme--northwind#1001 --reason "..."\n'
        "From the console: Step Functions > ManualPostingStateMachine > execution exec-1: "
        'send task success with output {"bigcommerce_order_id": "N"} (or task failure, error '
        '"ManualPostingRejected") and this task token:\n'
    )
    bare = ShippingAddress(name=None, address1="1 Road", city=None, country_code="US")
    lean = manual_posting_instructions(pending, order(line("A"), shipping_address=bare), decision, "e")
    assert "Ship to:\n  1 Road\n  US\n\n" in lean


# --- grouping alerts into emails -------------------------------------------------------------


def queued(number: str, reason: FailureReason = FailureReason.SKU_MISMATCH, seller: str = "northwind") -> QueuedAlert:
    return QueuedAlert(
        order_key=f"acme--{seller}#{number}",
        order_number=f"#{number}" if number else "",
        buyer_name="Acme Outfitters",
        seller_id=seller,
        seller_name=seller.title(),
        seller_platform="woocommerce",
        reason=reason,
        subject=f"subject {number}",
        seller_body=None if reason is FailureReason.INVALID_ORDER else f"body {number}",
        ops_body=f"ops {number}",
    )


def test_up_to_the_threshold_each_alert_is_its_own_email_once() -> None:
    alerts = [queued("1"), queued("1"), queued("2", FailureReason.INVALID_ORDER)]
    assert plan_emails(alerts, digest_threshold=2) == [  # ops' first: a dispatch failing midway told ops
        # ops' own subject: whose store, not "your store"
        OutgoingEmail(
            "ops",
            "northwind",
            "[ops] Order #1 from Acme Outfitters to Northwind's WooCommerce store: SKU mismatch",
            "ops 1",
            "SKU_MISMATCH",
        ),
        OutgoingEmail(
            "ops",
            "northwind",
            "[ops] Order #2 from Acme Outfitters to Northwind's WooCommerce store: unreadable order",
            "ops 2",
            "INVALID_ORDER",
        ),
        OutgoingEmail("seller", "northwind", "subject 1", "body 1", "SKU_MISMATCH"),
    ]


def test_an_all_clear_is_the_sellers_own_email_never_in_a_digest_and_nothing_for_ops() -> None:
    cleared = queued("7").model_copy(
        update={"kind": "SYNCED", "subject": "now in", "seller_body": "in", "ops_body": None}
    )
    failures = [queued("1"), queued("2"), queued("3")]
    ops, *emails = plan_emails([*failures, cleared, cleared], digest_threshold=2)
    assert emails[0] == OutgoingEmail("seller", "northwind", "now in", "in", "SYNCED")  # once, though queued twice
    assert [(e.audience, e.reason) for e in [ops, *emails[1:]]] == [("ops", "DIGEST"), ("seller", "DIGEST")]
    assert "#7" not in emails[1].body and "3 order alerts" in ops.body


def test_over_the_threshold_a_seller_gets_one_digest_and_ops_one_summary() -> None:
    alerts = [queued("1"), queued("2", FailureReason.DUPLICATE_SKU), queued(""), queued("9", seller="other")]
    emails = plan_emails(alerts, digest_threshold=2)
    ops, seller, other = emails
    assert other == OutgoingEmail("seller", "other", "subject 9", "body 9", "SKU_MISMATCH")  # under the threshold
    assert (seller.audience, seller.seller_id, seller.reason) == ("seller", "northwind", "DIGEST")
    assert seller.subject == "3 orders couldn't be synced to your WooCommerce store"
    assert seller.body.startswith(
        "Hello Northwind,\n\n"
        "3 orders could not be synced to your WooCommerce store automatically in the last run.\n"
        "We are sending one email for all of them instead of 3.\n\n"
        "  - Order #1 from Acme Outfitters: SKU mismatch\n"
        "  - Order #2 from Acme Outfitters: duplicate SKU\n"
        "  - Order acme--northwind# from Acme Outfitters: SKU mismatch\n\n"
        'About "SKU mismatch":\nWhat happened:'
    )
    assert '\n\nAbout "duplicate SKU":\nWhat happened:' in seller.body
    assert seller.body.count("About ") == 2 and seller.body.endswith("\n\n- The ordersync team\n")
    assert ops == OutgoingEmail(
        "ops",
        None,
        "[ops] 4 order alerts: DUPLICATE_SKU x1, SKU_MISMATCH x3",
        "4 order alerts in this dispatch (DUPLICATE_SKU x1, SKU_MISMATCH x3).\n\nops 1\n---\nops 2\n---\nops \n---\nops 9",
        "DIGEST",
    )


def test_the_words_around_lines_name_what_there_is_and_say_none_when_there_is_nothing() -> None:
    no_address = decided(line("A"), shipping_address=None)  # disregarded before any line is matched
    alert = compose_alert(no_address)
    assert alert is not None and alert.seller_body is not None
    assert "Lines:\n  (none)\n\n" in alert.seller_body
    assert "failing lines:\n  (none)\n" in alert.ops_body
    assert "fix: Confirm with the seller: ordersync order disregard acme--northwind#1001; " in alert.ops_body
    two = decided(line("TENT", line_id="1"), line("LAMP", line_id="2"))
    alert = compose_alert(two)
    assert alert is not None
    assert "failing lines:\n  - line 1 sku=TENT sku_mismatch \n  - line 2 sku=LAMP duplicate_sku [" in alert.ops_body
    suggestions = record(
        status=OrderStatus.FAILED,
        reason=FailureReason.SKU_MISMATCH,
        lines=[
            {
                "line_id": "1",
                "sku": "T",
                "title": "",
                "quantity": 1,
                "outcome": "sku_mismatch",
                "suggestions": ["T1", "T2"],
            }
        ],
    )
    body = compose_alert(suggestions).seller_body  # type: ignore[union-attr]
    assert "  - 1 x SKU T (blank title)  <- SKU not found (did you mean T1, T2?)" in body  # type: ignore[operator]
    x_number = compose_alert(
        record(order_number="#XL-9", status=OrderStatus.FAILED, reason=FailureReason.INVALID_ORDER)
    )
    assert x_number is not None and x_number.subject.startswith("Order #XL-9 from")


def test_the_dlq_body_lists_every_failing_line_and_the_envelope_a_redrive_will_use() -> None:
    failed = decided(line("TENT", line_id="1"), line("LAMP", line_id="2"), line("A", line_id="3"))
    body, _ = dlq_message(failed, None)
    assert [(x["line_id"], x["outcome"]) for x in body["failing_lines"]] == [
        ("1", "sku_mismatch"),
        ("2", "duplicate_sku"),
    ]
    dup = decided(line("LAMP"))
    body, _ = dlq_message(dup, None)
    assert body["what_to_do"].endswith("ordersync order replay acme--northwind#1001")
    envelope = OrderEnvelope.model_validate(
        {
            "connection_id": "acme--northwind",
            "buyer_id": "acme",
            "buyer_name": "Acme",
            "buyer_platform": "shopify",
            "seller_id": "northwind",
            "seller_name": "Northwind",
            "seller_platform": "woocommerce",
            "order_id": "1001",
            "order_number": "#1001",
            "payload": {"fresh": True},
            "pulled_at": "2026-11-27T12:20:00Z",
            "cause": "pull",
        }
    )
    body, _ = dlq_message(failed, envelope)
    assert body["envelope"]["payload"] == {"fresh": True}  # the envelope as delivered, not the record's copy


def test_a_dlq_message_is_read_from_its_attributes_first_then_its_body() -> None:
    attributes_only = {
        "MessageId": "m-1",
        "Body": json.dumps({"envelope": {"connection_id": "acme--northwind", "order_id": "77"}}),
        "MessageAttributes": {
            "order_id": {"StringValue": "77", "DataType": "String"},
            "seller_id": {"StringValue": "northwind", "DataType": "String"},
            "reason": {"StringValue": "DUPLICATE_SKU", "DataType": "String"},
        },
    }
    assert message_fields(attributes_only) == {
        "message_id": "m-1",
        "order_key": "acme--northwind#77",  # from the envelope inside our body
        "order_id": "77",
        "seller_id": "northwind",
        "reason": "DUPLICATE_SKU",
        "summary": "",
        "detail": "",
        "what_to_do": "",
        "payload": None,
    }
    body_only = {"MessageId": "m-2", "Body": json.dumps({"order_id": "5", "seller_id": "s", "reason": "SKU_MISMATCH"})}
    fields = message_fields(body_only)
    assert (fields["order_id"], fields["seller_id"], fields["reason"]) == ("5", "s", "SKU_MISMATCH")
    odd_envelope = {"MessageId": "m-3", "Body": json.dumps({"envelope": "gone"})}
    assert message_fields(odd_envelope)["order_key"] is None


def test_instructions_without_an_address_leave_the_ship_to_empty_and_list_every_line() -> None:
    canonical = order(line("A", 1, line_id="1"), line("B", 2, line_id="2"), shipping_address=ADDRESS_WITHOUT_EXTRAS)
    decision = decide(canonical, catalog(variant("A", "6"), variant("B", "7")), Platform.BIGCOMMERCE)
    text = manual_posting_instructions(
        record("bigcommerce"), canonical.model_copy(update={"shipping_address": None}), decision, "e"
    )
    assert "Lines:\n  - 1 x SKU A: Product A (product P6, variant 6) at 10.00 USD\n  - 2 x SKU B:" in text
    assert "Ship to:\n\n\nWhen it is entered" in text


ADDRESS_WITHOUT_EXTRAS = ShippingAddress(name="A", address1="1 Road", city="T", country_code="US")


def test_exactly_at_the_threshold_alerts_are_still_sent_one_by_one() -> None:
    alerts = [queued("1"), queued("2")]
    emails = plan_emails(alerts, digest_threshold=2)
    assert [e.reason for e in emails] == ["SKU_MISMATCH"] * 4
    empty_body = queued("3").model_copy(update={"seller_body": ""})
    (_ops, seller) = plan_emails([empty_body], digest_threshold=2)
    assert seller.body == ""
    x = queued("XL-1")
    digest = plan_emails([x, queued("2"), queued("3")], digest_threshold=2)[1]
    assert "  - Order #XL-1 from Acme Outfitters" in digest.body


def test_no_email_outgrows_what_sns_takes_however_many_alerts_one_dispatch_holds() -> None:
    """Reproduced from the code: 700 alerts whose ops bodies carry a long store error text made an
    ops digest past SNS's 256 KiB, refused after the sellers' digests had gone out: nothing deleted,
    every seller email sent again each run. Every body is capped, naming what it left out."""
    long_error = "the store answered 503: " + "é" * 600  # two bytes a character
    alerts = [queued(str(n)).model_copy(update={"ops_body": f"order {n}: {long_error}"}) for n in range(700)]
    long_name = "Acme Outfitters of the " + "Very " * 40 + "Long Name"
    alerts += [
        queued(str(n), seller=f"seller-{n % 3}").model_copy(update={"buyer_name": long_name}) for n in range(700, 4_000)
    ]
    emails = plan_emails(alerts, digest_threshold=10)
    assert all(len(e.body.encode()) <= MAX_BODY_BYTES and len(e.subject) < 100 for e in emails)
    ops = next(e for e in emails if e.audience == "ops")
    assert emails[0] is ops and "4000 order alerts" in ops.body
    assert ops.body.rstrip().endswith(
        "more alerts, not shown here (SNS takes 256 KiB a message): `ordersync dlq list` shows every failed order"
    )
    digest = next(e for e in emails if e.seller_id == "seller-0")
    assert "more orders" in digest.body and "Order #702 from" in digest.body
