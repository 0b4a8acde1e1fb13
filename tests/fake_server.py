"""What the local fakes of vendors' servers share: one on a free port of 127.0.0.1, served by a
thread while a test runs."""

import threading
from http.server import ThreadingHTTPServer
from typing import Self


class LocalFakeServer:
    server: ThreadingHTTPServer
    thread: threading.Thread

    def _serve(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
