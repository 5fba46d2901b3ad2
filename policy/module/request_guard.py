"""The request guard: refuses the client requests of policy/client_requests.py before
Synapse's own handlers see them, in every Synapse process that serves clients.

Synapse offers no module callback for to-device messages, key uploads, pushers, presence
status messages, custom profile fields or 3PID look-ups. Modules may serve web resources
(`ModuleApi.register_web_resource`); Synapse builds its listener's resource tree from a
path map, and a resource registered at `/_matrix` takes over the children already placed
under that path (the client, media and other APIs). The guard is that resource: for each
request it asks the pure rule, answers a refusal (403 JSON with the organisation's words,
counted in `carebridge_policy_refusals_total{reason}`), or hands the request to the child
Synapse put there, untouched. Only the few paths that need the JSON body have it read
(and rewound). Synapse workers load modules too, so production is covered the same way.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from twisted.web.resource import Resource

from policy.client_requests import RequestReason, decide_client_request, discarded_keys_answer, needs_body
from policy.decision import Decision
from policy.event_types import REASON_KEY
from policy.module.metrics import CALLBACK_ERRORS, count_refusal

log = logging.getLogger("carebridge.module")

GUARDED_PREFIX = "/_matrix"
MAX_BODY = 64 * 1024
CORS = {
    b"Access-Control-Allow-Origin": b"*",
    b"Access-Control-Allow-Methods": b"GET, HEAD, POST, PUT, DELETE, OPTIONS",
    b"Access-Control-Allow-Headers": b"X-Requested-With, Content-Type, Authorization, Date",
}


class JsonAnswer(Resource):
    """A fixed JSON error answer (with the CORS headers browsers need to read it)."""

    isLeaf = True

    def __init__(self, code: int, body: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.code = code
        self.body = json.dumps(body).encode("utf-8")

    def render(self, request: Any) -> bytes:
        request.setResponseCode(self.code)
        request.setHeader(b"Content-Type", b"application/json")
        for name, value in CORS.items():
            request.setHeader(name, value)
        return self.body


def refusal(decision: Decision) -> JsonAnswer:
    """The 403 a client sees for a refused request."""
    return JsonAnswer(
        403,
        {
            "errcode": decision.errcode,
            "error": decision.message or "Not allowed.",
            REASON_KEY: str(decision.reason),
        },
    )


def _json_body(request: Any) -> dict[str, Any] | None:
    content = getattr(request, "content", None)
    if content is None:
        return None
    try:
        content.seek(0)
        raw = content.read(MAX_BODY + 1)
    finally:
        content.seek(0)
    if len(raw) > MAX_BODY:
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


CHECK_FAILED = JsonAnswer(
    500,
    {
        "errcode": "M_UNKNOWN",
        "error": "Carebridge could not check this request; please try again or contact IT.",
    },
)


class RequestGuard(Resource):
    """Mounted at /_matrix: refuse what the rules refuse, pass everything else through."""

    def __init__(self, push_gateways: frozenset[str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.push_gateways = push_gateways

    @classmethod
    def register(cls, api: Any, push_gateways: frozenset[str]) -> None:
        """Serve the guard in front of Synapse's /_matrix APIs."""
        api.register_web_resource(GUARDED_PREFIX, cls(push_gateways))

    def answer(self, request: Any) -> JsonAnswer | None:
        """The guard's own answer to this request (a refusal, or discarded keys), if any."""
        method = request.method.decode("ascii", "replace").upper()
        path = request.path.decode("utf-8", "replace")  # as Synapse's servlets match it
        body = _json_body(request) if needs_body(method, path) else None
        decision = decide_client_request(method, path, body, self.push_gateways)
        if decision is None or decision.allowed:
            return None
        count_refusal(str(decision.reason))
        log.info("refused client request: %s", decision.reason)
        if decision.reason == RequestReason.DEVICE_KEYS_DISCARDED:
            return JsonAnswer(200, discarded_keys_answer(body))
        return refusal(decision)

    def getChildWithDefault(self, path: bytes, request: Any) -> Resource:  # Twisted API name
        try:
            answer = self.answer(request)
        except Exception as exc:  # noqa: BLE001 - containment: answer, never crash the listener
            log.error("carebridge request guard failed: %s", type(exc).__name__)
            CALLBACK_ERRORS.labels("request_guard").inc()
            return CHECK_FAILED
        if answer is not None:
            return answer
        if path in self.children:
            child: Resource = self.children[path]
            return child
        return JsonAnswer(404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"})
