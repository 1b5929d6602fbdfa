"""werkzeug's development server closes the connection after every answer (it can't know that the
application read the whole request body, and drains the socket after each answer): every AWS call
to the local moto server paid a new TCP connection and a new server thread, thousands a test. This
handler reads each request's body whole before the application sees it and answers with its
length, so the connection stays open for the client's next request, as AWS's endpoints keep it."""

from __future__ import annotations

import io
import traceback
from typing import Any

from werkzeug.serving import WSGIRequestHandler

_NO_BODY = ("1", "204", "304")  # statuses an answer carries no body with (1xx, 204, 304)


class KeepAliveRequestHandler(WSGIRequestHandler):
    def run_wsgi(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # its end is in the stream: werkzeug's way, then close
            super().run_wsgi()
            return
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.environ = environ
        answer: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return written.append

        try:
            result = self.server.app(environ, start_response)
            try:
                written.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            self.log_error("Error on request:\n%s", traceback.format_exc())  # as werkzeug logs it
            answer[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]]
            written[:] = [b"Internal Server Error"]
        status, headers = answer
        code, _, reason = status.partition(" ")
        body = b"".join(written)
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        if code.startswith(_NO_BODY):
            body = b""
        else:
            self.send_header("Content-Length", str(len(body)))
        # the head and the body in one write: two small writes on a kept connection meet Nagle's
        # algorithm and the client's delayed ACK (40 ms an answer)
        self._headers_buffer.append(b"\r\n" + (b"" if self.command == "HEAD" else body))
        self.flush_headers()
