// Roles on shift and do not disturb: the bridge's role endpoints (same origin as this page).
import {bridgeCall} from "./session.js";

/** Every role: [{name, display_name, holders: [{user_id, display_name, away}], until_ts, reason, can_take, holds}]. */
export const listRoles = (token) => bridgeCall(token, "GET", "_carebridge/v1/roles");

/** The signed-in person's conversation with a role (created on first use): {room_id}. */
export const openRoleRoom = (token, name) =>
    bridgeCall(token, "POST", `_carebridge/v1/roles/${encodeURIComponent(name)}/room`);

/** Take a role for the rest of its shift, or give it up: {message}. */
export const takeRole = (token, name) => bridgeCall(token, "POST", `_carebridge/v1/roles/${encodeURIComponent(name)}/take`);
export const releaseRole = (token, name) =>
    bridgeCall(token, "POST", `_carebridge/v1/roles/${encodeURIComponent(name)}/release`);

/** Do not disturb: {away, forward_to, until_ts}. */
export const awayState = (token) => bridgeCall(token, "GET", "_carebridge/v1/away");
export const setAway = (token, away, forwardTo) =>
    bridgeCall(token, "PUT", "_carebridge/v1/away", {away, forward_to: forwardTo || null, until_ts: null});

// Carebridge's content keys (policy/event_types.py).
export const URGENT_KEY = "org.carebridge.urgent";
export const URGENT_RECORD = "org.carebridge.urgent.record";
export const FORWARDED_KEY = "org.carebridge.forwarded";
export const ROLE_ROOM_STATE = "org.carebridge.role_room";

/** The role room's state ({target, requester, display_name}), or null for other rooms. */
export function roleRoomOf(room) {
    return room.currentState.getStateEvents(ROLE_ROOM_STATE, "")?.getContent() || null;
}
