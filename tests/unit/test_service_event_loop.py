"""Services run on uvloop, and uvicorn parses with httptools, where they are installed
(runtime dependencies: pyproject.toml); asyncio's own loop and h11 otherwise."""

from __future__ import annotations

import asyncio

import uvloop
from uvicorn.config import Config

from orderflow.shared.service import event_loop_factory


def test_the_service_loop_is_uvloop() -> None:
    factory = event_loop_factory()
    assert factory is not None
    with asyncio.Runner(loop_factory=factory) as runner:
        assert isinstance(runner.get_loop(), uvloop.Loop)


def test_uvicorn_picks_httptools() -> None:
    config = Config(lambda scope, receive, send: None, http="auto", lifespan="off")
    config.load()
    assert config.http_protocol_class.__module__ == "uvicorn.protocols.http.httptools_impl"
