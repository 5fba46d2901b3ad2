"""Fixtures of the browser tests (tests/e2e/webclient_fixtures.py), module-scoped: each
browser test module gets its own Synapse + bridge + organisation + Chromium."""

from __future__ import annotations

from tests.e2e.webclient_fixtures import browser, org, web_stack

__all__ = ["browser", "org", "web_stack"]
