"""A webhook receiver on loopback for the delivery tests. It checks every signature with hmac
itself (not with stream.delivery.signing), so a bug in our signing cannot agree with itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, secret: str, port: int, status: int = 204, delay_s: float = 0.0) -> None:
        self.secret = secret
        self.port = port
        self.status = status
        self.delay_s = delay_s  # a slow receiver: answers after this long
        self.received: list[dict[str, Any]] = []  # bodies whose signature was right
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
                ts = self.headers.get("X-Finpulse-Timestamp", "")
                mac = hmac.new(receiver.secret.encode(), ts.encode() + b"." + body, hashlib.sha256)
                given = self.headers.get("X-Finpulse-Signature", "")
                fresh = ts.isdigit() and abs(time.time() - int(ts)) < 300
                if fresh and hmac.compare_digest("sha256=" + mac.hexdigest(), given):
                    if receiver.status < 300:
                        receiver.received.append(json.loads(body))
                    self.send_response(receiver.status)
                else:
                    receiver.refused += 1
                    self.send_response(401)
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
