"""Matrix-style JSON error responses for the appservice API."""

from __future__ import annotations

from aiohttp import web


def matrix_error(status: int, errcode: str, message: str) -> web.Response:
    """A JSON error body in the Matrix format {"errcode": ..., "error": ...}."""
    return web.json_response({"errcode": errcode, "error": message}, status=status)
