"""The request guard: refuses the client requests of policy/client_requests.py before
Synapse's own handlers see them, in every Synapse process that serves clients.

Synapse offers no module callback for to-device messages, key uploads, pushers, presence
status messages, custom profile fields or 3PID look-ups, and its upload check is not told
the type the client declared: the guard notes it for that check
(policy/module/declared_uploads.py). Modules may serve web resources
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
from typing import Any, Protocol

from twisted.web.resource import Resource

from policy.client_requests import RequestReason, decide_client_request, discarded_keys_answer, needs_body
from policy.decision import Decision
from policy.declared_type import UPLOAD_PATH
from policy.event_types import REASON_KEY
from policy.module.declared_uploads import DeclaredTypes
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

    def __init__(self, code: int, body: dict[str, Any], headers: dict[bytes, bytes] | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.code = code
        self.body = json.dumps(body).encode("utf-8")
        self.headers = headers or {}

    def render(self, request: Any) -> bytes:
        request.setResponseCode(self.code)
        request.setHeader(b"Content-Type", b"application/json")
        for name, value in (CORS | self.headers).items():
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


def json_body(request: Any) -> dict[str, Any] | None:
    """The request's JSON object (rewound for Synapse), or None."""
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


NOT_FOUND = JsonAnswer(404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"})


def _content_type(request: Any) -> str | None:
    values = request.requestHeaders.getRawHeaders(b"Content-Type")
    return values[0].decode("latin-1") if values else None


CHECK_FAILED = JsonAnswer(
    500,
    {
        "errcode": "M_UNKNOWN",
        "error": "Carebridge could not check this request; please try again or contact IT.",
    },
)


class PasswordChecks(Protocol):
    """The sign-in limit (policy/module/sign_in_limit.py) as the guard sees it."""

    def wrap(self, child: Resource, request: Any, method: str, path: str, failed: Resource) -> Resource:
        """`child`, or a resource that checks the request first."""
        ...


class RequestGuard(Resource):
    """Mounted at /_matrix: refuse what the rules refuse, pass everything else through
    (a request carrying a password through the sign-in limit first)."""

    def __init__(
        self,
        push_gateways: frozenset[str],
        sign_in: PasswordChecks | None = None,
        declared: DeclaredTypes | None = None,
        server_name: str = "",
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.push_gateways = push_gateways
        self.sign_in = sign_in
        self.declared = declared if declared is not None else DeclaredTypes()
        self.server_name = server_name

    @classmethod
    def register(
        cls, api: Any, push_gateways: frozenset[str], sign_in: PasswordChecks | None, declared: DeclaredTypes
    ) -> None:
        """Serve the guard in front of Synapse's /_matrix APIs; uploads' declared types go
        to `declared` for the upload check (policy/module/declared_uploads.py)."""
        api.register_web_resource(GUARDED_PREFIX, cls(push_gateways, sign_in, declared, str(api.server_name)))

    def answer(self, request: Any, method: str | None = None, path: str | None = None) -> JsonAnswer | None:
        """The guard's own answer to this request (a refusal, or discarded keys), if any."""
        method = method or request.method.decode("ascii", "replace").upper()
        path = path or request.path.decode("utf-8", "replace")  # as Synapse's servlets match it
        body = json_body(request) if needs_body(method, path) else None
        decision = decide_client_request(method, path, body, self.push_gateways, self.server_name)
        if decision is None and method in ("POST", "PUT") and UPLOAD_PATH.match(path):
            self.declared.note(request.get_request_id(), _content_type(request))
        if decision is None or decision.allowed:
            return None
        count_refusal(str(decision.reason))
        log.info("refused client request: %s", decision.reason)
        if decision.reason == RequestReason.DEVICE_KEYS_DISCARDED:
            return JsonAnswer(200, discarded_keys_answer(body))
        return refusal(decision)

    def getChildWithDefault(self, path: bytes, request: Any) -> Resource:  # Twisted API name
        child: Resource | None = self.children.get(path)
        try:
            method = request.method.decode("ascii", "replace").upper()
            full_path = request.path.decode("utf-8", "replace")
            answer = self.answer(request, method, full_path)
            if answer is None and child is not None and self.sign_in is not None:
                return self.sign_in.wrap(child, request, method, full_path, CHECK_FAILED)
        except Exception as exc:  # noqa: BLE001 - containment: answer, never crash the listener
            log.error("carebridge request guard failed: %s", type(exc).__name__)
            CALLBACK_ERRORS.labels("request_guard").inc()
            return CHECK_FAILED
        if answer is not None:
            return answer
        if child is not None:
            return child
        return NOT_FOUND
