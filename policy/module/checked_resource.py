"""A request the guard must look up something for before Synapse may serve it.

Twisted picks the resource for a request synchronously (`getChildWithDefault`), but some
checks need Synapse's database (how many wrong passwords an account has had, whose token
this is). For those few requests the guard returns a `CheckedResource`: a leaf that runs
the check when the request is rendered (in the request's own logging context, as Synapse's
servlets do), then either writes the check's answer or renders the resource Synapse put
there, untouched. Every other request never meets it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from policy.module.metrics import CALLBACK_ERRORS

log = logging.getLogger("carebridge.module")

Check = Callable[[Any], Awaitable[Resource | None]]


def write_answer(request: Any, answer: Resource) -> None:
    """Render a fixed-answer resource onto the request and finish it."""
    body = answer.render(request)  # type: ignore[no-untyped-call]
    if body is NOT_DONE_YET:
        return
    request.setHeader(b"Content-Length", str(len(body)).encode("ascii"))
    request.write(body)
    request.finish()


class CheckedResource(Resource):
    """Runs `check(request)`; its answer (a resource) is served, or None lets `child` serve."""

    isLeaf = True

    def __init__(self, child: Resource, check: Check, failed: Resource, name: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.child = child
        self.check = check
        self.failed = failed
        self.name = name

    def render(self, request: Any) -> Any:
        from synapse.logging.context import run_in_background

        run_in_background(self._serve, request)
        return NOT_DONE_YET

    async def _serve(self, request: Any) -> None:
        try:
            answer = await self.check(request)
        except Exception as exc:  # noqa: BLE001 - containment: answer, never hang the request
            log.error("carebridge %s check failed: %s", self.name, type(exc).__name__)
            CALLBACK_ERRORS.labels(self.name).inc()
            answer = self.failed
        if answer is not None:
            write_answer(request, answer)
            return
        body = self.child.render(request)  # type: ignore[no-untyped-call]
        if body is not NOT_DONE_YET:  # Synapse's resources always answer later; others may not
            write_answer(request, _Fixed(body))


class _Fixed(Resource):
    isLeaf = True

    def __init__(self, body: bytes) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.body = body

    def render(self, request: Any) -> bytes:
        del request
        return self.body
