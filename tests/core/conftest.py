"""Fixtures of the core tests: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture
def server():
    """A local HTTP server the fetcher really talks to, cleared after each test."""
    s = HTTPServer(host="127.0.0.1", port=0)
    s.start()
    yield s
    s.clear()
    s.stop()
