"""ReceiveWebhookFunction: WooCommerce and BigCommerce order webhooks, served as a function URL."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types

from ordersync.observability import logger, metrics, tracer
from ordersync.services.webhooks import WebhookDependencies, receive_webhook
from ordersync.wiring import webhook_dependencies

if TYPE_CHECKING:  # for the annotation only: importing it costs cold-start time
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = LambdaFunctionUrlResolver()


@app.post("/hooks/<store_id>")
def hook(store_id: str) -> Response[dict[str, Any]]:
    event = app.current_event
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()  # the bytes the store signed
    answer = receive_webhook(store_id, event.headers, body, app.context["deps"])
    return Response(answer.status, content_types.APPLICATION_JSON, {"message": answer.message, "orders": answer.orders})


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, deps: WebhookDependencies | None = None) -> dict[str, Any]:
    app.append_context(deps=deps or webhook_dependencies())
    return app.resolve(event, context)
