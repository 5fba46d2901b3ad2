"""The admin API guard: Synapse's `/_synapse/admin` answers only Carebridge's own calls.

Synapse has no module callback for most of its admin API (login as a user, purge history,
delete media, redact a user's events, shared-secret registration), and the appservice
token is a server admin. Like the request guard at `/_matrix`, this resource is
registered at `/_synapse`, takes over the children Synapse put there (admin, client,
metrics, replication) and hands every request to them untouched, except `admin/...`:

- a request not on Carebridge's list (policy/admin_api.py) is refused for every token:
  403 `M_FORBIDDEN` in the organisation's words, counted in
  `carebridge_policy_refusals_total{reason}`, and, when the token is valid, recorded as
  an admin action with status 403 (so an attempt with a stolen bot token is seen);
- an allowed call that changes something is recorded once Synapse has answered:
  who (the token's account), which endpoint, the user or room, Synapse's status, and the
  safe parameters. The record goes down the durable pipe like session records (the
  module's outbox, then an `org.carebridge.admin_action` event from the bot into the
  administrators' room, then the appservice transaction into the archive).

The check is a dict look-up on (method, version, first segment) and at most two short
regular expressions, and only for `/_synapse/admin`; `/_matrix` (the message path) never
reaches it. 45 CFR 164.312(a)(1) access control, 164.312(b) audit controls.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from twisted.web.resource import Resource

from policy.admin_api import (
    MAX_FIELD,
    AdminActionRecord,
    AdminCall,
    action_parameters,
    decide_admin_request,
)
from policy.decision import Decision
from policy.event_types import ADMIN_ACTION_EVENT_TYPE
from policy.module.checked_resource import CheckedResource
from policy.module.metrics import CALLBACK_ERRORS, count_refusal
from policy.module.request_guard import CHECK_FAILED, NOT_FOUND, json_body, refusal
from policy.module.sign_in_limit import client_facts
from policy.session_reason import OPERATOR_PARAM, operator_from_query

if TYPE_CHECKING:
    from synapse.module_api import ModuleApi

    from policy.module.sessions import SessionRecorder

log = logging.getLogger("carebridge.module")

GUARDED_PREFIX = "/_synapse"
ADMIN = b"admin"
WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})


class AdminApiGuard(Resource):
    """Mounted at /_synapse: refuse admin calls Carebridge does not make, record the rest."""

    def __init__(self, api: ModuleApi, recorder: SessionRecorder) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.api = api
        self.recorder = recorder
        self.bot_user_id = recorder.config.bot_user_id

    @classmethod
    def register(cls, api: ModuleApi, recorder: SessionRecorder) -> None:
        """Serve the guard in front of Synapse's /_synapse resources."""
        api.register_web_resource(GUARDED_PREFIX, cls(api, recorder))

    def getChildWithDefault(self, path: bytes, request: Any) -> Resource:  # Twisted API name
        child: Resource | None = self.children.get(path)
        if path != ADMIN:
            return child if child is not None else NOT_FOUND
        try:
            method = request.method.decode("ascii", "replace").upper()
            full_path = request.path.decode("utf-8", "replace")
            body = json_body(request) if method in WRITES else None
            decision, call = decide_admin_request(method, full_path, body)
        except Exception as exc:  # noqa: BLE001 - containment: fail closed on the admin API
            log.error("carebridge admin API guard failed: %s", type(exc).__name__)
            CALLBACK_ERRORS.labels("admin_api_guard").inc()
            return CHECK_FAILED
        if not decision.allowed:
            count_refusal(str(decision.reason))
            log.warning("refused admin API request %s %s (%s)", method, full_path, decision.reason)
            return CheckedResource(
                refusal(decision),
                lambda req: self._record_refusal(req, method, decision, call),
                refusal(decision),
                "admin_api_guard",
            )
        if child is None:
            return NOT_FOUND
        if call is not None and call.endpoint.recorded:
            params = action_parameters(call, body)
            ip, _ = client_facts(request)
            request.notifyFinish().addBoth(lambda _: self._finished(request, method, call, params, ip))
        return child

    # --- records -------------------------------------------------------------------------
    async def _record_refusal(
        self, request: Any, method: str, decision: Decision, call: AdminCall | None
    ) -> Resource:
        """Find whose token asked (a valid one only), record the refused call, refuse."""
        try:
            requester = await self.api.get_user_by_req(request)
        except Exception:  # noqa: BLE001 - no valid token: refused, nothing to record
            return refusal(decision)
        ip, _ = client_facts(request)
        actor = str(requester.user.to_string())
        endpoint, target = (call.endpoint.name, call.target) if call is not None else _unlisted(request)
        record = AdminActionRecord(
            ts=self._now(),
            actor=actor,
            endpoint=endpoint,
            method=method,
            target=target,
            status=403,
            parameters={"refused": str(decision.reason)},
            operator=self._operator(request, actor),
            ip=ip,
        )
        self.api.run_as_background_process("carebridge_admin_refused", self._emit, record)
        return refusal(decision)

    def _finished(
        self, request: Any, method: str, call: AdminCall, params: dict[str, Any], ip: str | None
    ) -> None:
        try:
            requester, authenticated = request.get_authenticated_entity()
            actor = authenticated or requester
            if actor is None:
                return  # Synapse refused the token: nothing was done
            record = AdminActionRecord(
                ts=self._now(),
                actor=str(actor),
                endpoint=call.endpoint.name,
                method=method,
                target=call.target,
                status=int(getattr(request, "code", 0) or 0),
                parameters=params
                | ({"on_behalf_of": requester} if authenticated and requester != authenticated else {}),
                operator=self._operator(request, str(actor)),
                ip=ip,
            )
        except Exception as exc:  # noqa: BLE001 - never break Synapse's response handling
            log.error("could not build an admin action record: %s", type(exc).__name__)
            CALLBACK_ERRORS.labels("admin_api_record").inc()
            return
        self.api.run_as_background_process("carebridge_admin_action", self._emit, record)

    async def _emit(self, record: AdminActionRecord) -> None:
        await self.recorder.emit(ADMIN_ACTION_EVENT_TYPE, record.content())
        log.info("recorded admin action %s by %s (%d)", record.endpoint, record.actor, record.status)

    def _operator(self, request: Any, actor: str) -> str | None:
        """The CLI operator's OS account, believed only on the bot's own calls."""
        if actor != self.bot_user_id:
            return None
        values = (getattr(request, "args", None) or {}).get(OPERATOR_PARAM.encode("ascii"), [])
        if not values:
            return None
        return operator_from_query(f"{OPERATOR_PARAM}={values[0].decode('utf-8', 'replace')}")

    def _now(self) -> int:
        return int(self.api.get_current_time_msec())


_ID_SIGILS = ("@", "!", "$", "#")


def _unlisted(request: Any) -> tuple[str, str | None]:
    """A refused endpoint's name (the path after /_synapse/admin/ with Matrix ids left
    out) and the first id in it (the user or room it would have acted on)."""
    parts = [unquote(p) for p in request.path.decode("utf-8", "replace").split("/")[3:] if p]
    ids = [p for p in parts if p.startswith(_ID_SIGILS)]
    name = "/".join(p for p in parts if not p.startswith(_ID_SIGILS))[:128] or "admin"
    return name, (ids[0][:MAX_FIELD] if ids else None)
