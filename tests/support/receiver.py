"""A real HTTP subscriber on a local socket: records every POST and answers from a script."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    url: str
    # Status codes to answer, in order; once used up, `then` for every further request.
    script: list[int] = field(default_factory=list)
    then: int = 200
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)

    def next_status(self) -> int:
        return self.script.pop(0) if self.script else self.then


@contextmanager
def receiver(**config) -> Iterator[Receiver]:
    """Serve on 127.0.0.1 (a free port) until the block ends."""
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 — http.server's name
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            status = state.next_status()
            if state.delay_seconds:
                time.sleep(state.delay_seconds)
            state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
            try:
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/loopgate", **config)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
