"""A Lambda function URL on this machine: HTTP requests become the function's events (payload
format 2.0, as Lambda builds them: lower-case headers, the body as text or base64) and its answer
becomes the HTTP response."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from ordersync.local.fakes.server import POLL_SECONDS
from ordersync.local.keep_alive import KeepAliveRequestHandler

TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/")
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation limit


class FunctionUrlServer:
    def __init__(self) -> None:
        self.invoke: Callable[[dict[str, Any]], Any] | None = None  # the runner sets it: the function's handler
        self.requests = 0
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=KeepAliveRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_SECONDS,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests += 1
        request = Request(environ)
        raw = request.get_data()
        if len(raw) > MAX_PAYLOAD_BYTES:
            return Response("Request Entity Too Large", 413)(environ, start_response)
        answer = self.invoke(event_of(request, raw)) if self.invoke else {"statusCode": 503, "body": "not deployed"}
        return response_of(answer)(environ, start_response)


def event_of(request: Request, raw: bytes) -> dict[str, Any]:
    text = request.content_type.startswith(TEXT_TYPES) if request.content_type else False
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode(),
        "headers": {name.lower(): value for name, value in request.headers.items()},
        "queryStringParameters": dict(request.args) or None,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": "local",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "body": raw.decode() if text else base64.b64encode(raw).decode(),
        "isBase64Encoded": not text,
    }


def response_of(answer: Any) -> Response:
    if not isinstance(answer, dict) or "statusCode" not in answer:  # Lambda's shortcut: a bare JSON value is a 200
        import json

        return Response(json.dumps(answer), 200, content_type="application/json")
    body = answer.get("body") or ""
    data = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
    return Response(data, int(answer["statusCode"]), headers=answer.get("headers") or {})
