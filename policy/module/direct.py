"""An endpoint for the bridge to keep each participant's `m.direct` account data right.

Synapse's admin API can read a user's account data but not write it, and the bridge (an
appservice) cannot act as staff accounts. So the module, which can (ModuleApi
`account_data_manager`), serves one narrow endpoint that only the Carebridge bot may call:

    POST /_synapse/client/carebridge/v1/direct
    {"user_id": "@a:hs", "rooms": {"@b:hs": ["!dm:hs"], "@c:hs": ["!dm:hs"]}}

It **adds** the given rooms under the given people in that user's `m.direct` (never
removes what the user's own client put there) and answers with the resulting mapping.
The merge happens inside Synapse, so it does not race the read-modify-write of a client.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from synapse.module_api import DirectServeJsonResource, ModuleApi, parse_json_object_from_request
from synapse.module_api.errors import Codes, SynapseError

from policy.direct import DIRECT_PATH, merge_direct

if TYPE_CHECKING:
    from policy.module.config import ModuleConfig

log = logging.getLogger("carebridge.module")


def _parse_body(body: dict[str, Any]) -> tuple[str, dict[str, list[str]]]:
    user_id = body.get("user_id")
    rooms = body.get("rooms")
    if not isinstance(user_id, str) or not isinstance(rooms, dict):
        raise SynapseError(400, "Expected {user_id, rooms}", Codes.BAD_JSON)
    additions: dict[str, list[str]] = {}
    for other, room_ids in rooms.items():
        if (
            not isinstance(other, str)
            or not isinstance(room_ids, list)
            or not all(isinstance(r, str) for r in room_ids)
        ):
            raise SynapseError(400, "rooms must map user ids to lists of room ids", Codes.BAD_JSON)
        additions[other] = list(room_ids)
    return user_id, additions


class DirectRoomsResource(DirectServeJsonResource):
    """POST: merge rooms into one user's m.direct (bot only)."""

    def __init__(self, config: ModuleConfig, api: ModuleApi) -> None:
        super().__init__()
        self.config = config
        self.api = api

    @classmethod
    def register(cls, config: ModuleConfig, api: ModuleApi) -> None:
        """Serve the endpoint from Synapse's client listener."""
        api.register_web_resource(DIRECT_PATH, cls(config, api))

    async def _async_render_POST(self, request: Any) -> tuple[int, dict[str, Any]]:
        requester = await self.api.get_user_by_req(request)
        if requester.user.to_string() != self.config.bot_user_id:
            raise SynapseError(403, "Only the Carebridge bot may do this", Codes.FORBIDDEN)
        user_id, additions = _parse_body(parse_json_object_from_request(request))
        if not self.api.is_mine(user_id) or await self.api.get_userinfo_by_id(user_id) is None:
            raise SynapseError(404, "Unknown local user", Codes.NOT_FOUND)
        manager = self.api.account_data_manager
        current = await manager.get_global(user_id, "m.direct")
        merged = merge_direct(current, additions)
        if merged != merge_direct(current, {}):
            await manager.put_global(user_id, "m.direct", merged)
            log.info("updated m.direct of %s (%d people)", user_id, len(merged))
        return 200, {"m.direct": merged}
