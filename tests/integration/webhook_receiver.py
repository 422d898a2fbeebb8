"""A webhook receiver on loopback for the delivery tests. It checks every signature with the
``standardwebhooks`` package (not with stream.delivery.signing), as a subscriber's receiver
would, so a bug in our signing cannot agree with itself."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


class Receiver:
    def __init__(self, secret: str, port: int, status: int = 204, delay_s: float = 0.0) -> None:
        self.secret = secret
        self.port = port
        self.status = status
        self.delay_s = delay_s  # a slow receiver: answers after this long
        self.received: list[dict[str, Any]] = []  # bodies whose signature was right
        self.headers: list[dict[str, str]] = []  # and their headers
        self.refused = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/finpulse"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay_s)
                headers = dict(self.headers.items())
                try:
                    Webhook(receiver.secret).verify(body, headers, json_parse=False)
                except WebhookVerificationError:
                    receiver.refused += 1
                    self.send_response(401)
                else:
                    if receiver.status < 300:
                        receiver.received.append(json.loads(body))
                        receiver.headers.append(headers)
                    self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
