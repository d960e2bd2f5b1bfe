"""The backend: a small JSON web server, one per pod of the ``backend`` Deployment.

It listens on 127.0.0.1 at ``$PORT`` (the host port orbit allocated for the pod's
``http`` port) and answers every GET with its pod's name (``$POD_NAME``, from the
downward API) and the path asked for, so the caller can see who answered.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POD_NAME = os.environ.get("POD_NAME", "?")


class Handler(BaseHTTPRequestHandler):
    """``GET <path>`` -> ``{"pod": ..., "path": ...}``."""

    def do_GET(self) -> None:
        body = json.dumps({"pod": POD_NAME, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print(f"{POD_NAME} serving on 127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
