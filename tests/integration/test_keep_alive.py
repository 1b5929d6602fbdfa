"""The local servers (moto, the fake stores, the function URLs) keep a client's connection for its
next request, as AWS's endpoints and the stores do (werkzeug's development server closed each after
one answer); what can't be read whole first (a chunked body) is answered and the connection closed."""

from __future__ import annotations

import requests
from werkzeug.wrappers import Request, Response

from ordersync.local.fakes.server import FakeServer


def _echo(request: Request) -> Response:
    return Response(f"{request.method} {len(request.get_data())}", 200)


def test_a_client_s_requests_share_one_connection_and_every_answer_is_whole() -> None:
    server = FakeServer(_echo).start()
    try:
        with requests.Session() as session:
            answers = [session.post(server.base_url, data=b"x" * size, timeout=5).text for size in (0, 10, 70_000)]
            answers.append(session.get(server.base_url, timeout=5).text)
            pools = session.get_adapter(server.base_url).poolmanager.pools
            assert answers == ["POST 0", "POST 10", "POST 70000", "GET 0"]
            assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118 (it has no __iter__)
            chunked = session.post(server.base_url, data=iter([b"ab", b"cd"]), timeout=5)  # no length: chunks
            assert chunked.text == "POST 4" and chunked.headers["Connection"] == "close"
            assert session.get(server.base_url, timeout=5).text == "GET 0"  # a new connection, as it should
    finally:
        server.stop()
