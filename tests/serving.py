"""A real uvicorn server over a bundle on a free loopback port, for the service's tests and benchmarks."""
from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from socialgraph.serve.app import create_app
from socialgraph.serve.service import ModelService


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``with Server(service, token) as url:`` serves on 127.0.0.1 in a thread until the block ends."""

    def __init__(self, service: ModelService, token: str) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(service, token), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start within 30 s")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
