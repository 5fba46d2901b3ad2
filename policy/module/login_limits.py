"""Sign-ins Synapse refused for a rate limit (`rc_login`), recorded as failed sign-ins.

Synapse checks its sign-in limits before any module callback runs, so a refused attempt
never reaches the password callbacks. It does log every refused request, with the request
object, on the `synapse.http.server` logger; a logging filter there notices a 429 answer
to `POST /login`, reads the user identifier (never the password) from the request body,
and has the session recorder send a failed_login record with reason `rate_limited` down
the durable pipe. 45 CFR 164.308(a)(5)(ii)(C) log-in monitoring.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from policy.module.request_guard import MAX_BODY
from policy.module.sessions import MAX_UA

if TYPE_CHECKING:
    from synapse.module_api import ModuleApi

    from policy.module.sessions import SessionRecorder

log = logging.getLogger("carebridge.module")

SERVER_LOGGER = "synapse.http.server"
_LOGIN_PATH = re.compile(r"^/_matrix/client/(?:r0|v1|v3|unstable)/login/?$")


def typed_identifier(body: bytes) -> str | None:
    """The user a login request names (`identifier.user`, or the legacy `user`), or the
    e-mail address of a sign-in by address (`identifier.address`, or the legacy `address`)."""
    try:
        data = json.loads(body[:MAX_BODY])
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    identifier = data.get("identifier")
    named = identifier if isinstance(identifier, dict) else data
    user = named.get("user")
    if not (isinstance(user, str) and user) and named.get("medium") == "email":
        user = named.get("address")
    return user[:255] if isinstance(user, str) and user else None


class RateLimitedLogins(logging.Filter):
    """A filter on Synapse's HTTP server logger; never suppresses a log line."""

    def __init__(self, api: ModuleApi, recorder: SessionRecorder) -> None:
        super().__init__("carebridge-rate-limited-logins")
        self.api = api
        self.recorder = recorder

    @classmethod
    def install(cls, api: ModuleApi, recorder: SessionRecorder) -> RateLimitedLogins:
        """Attach to the logger (replacing an earlier instance) so it sees INFO lines."""
        logger = logging.getLogger(SERVER_LOGGER)
        for old in [f for f in logger.filters if isinstance(f, RateLimitedLogins)]:
            logger.removeFilter(old)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        instance = cls(api, recorder)
        logger.addFilter(instance)
        return instance

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._inspect(record)
        except Exception as exc:  # noqa: BLE001 - logging must never break
            log.error("could not record a rate-limited sign-in: %s", type(exc).__name__)
        return True

    def _inspect(self, record: logging.LogRecord) -> None:
        args = record.args
        if not isinstance(args, tuple) or len(args) < 2 or args[1] != 429:
            return
        if not str(record.msg).startswith("%s SynapseError"):
            return
        request: Any = args[0]
        if getattr(request, "method", None) != b"POST":
            return
        path = bytes(getattr(request, "path", b"")).decode("ascii", "replace")
        if not _LOGIN_PATH.match(path):
            return
        typed = None
        content = getattr(request, "content", None)
        if content is not None:
            content.seek(0)
            typed = typed_identifier(content.read(MAX_BODY))
        ip = request.get_client_ip_if_available() or None
        agent = request.getHeader("User-Agent")
        agent = str(agent)[:MAX_UA] if agent else None
        self.api.run_as_background_process(
            "carebridge_rate_limited_login", self.recorder.record_rate_limited, typed, ip, agent
        )
