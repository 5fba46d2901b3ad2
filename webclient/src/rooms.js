// What the UI needs to know about rooms: channel or conversation, the signed-in person's
// rights in a channel (from the org.carebridge.channel state the bridge/provisioning
// write), unread counts and the order of Recent Activity.
export const CHANNEL_STATE = "org.carebridge.channel";

export function isChannel(room) {
    return Boolean(room.currentState.getStateEvents(CHANNEL_STATE, ""));
}

/** "post", "respond" or "read" in a channel; "post" in a conversation. */
export function rightsIn(room, me) {
    const state = room.currentState.getStateEvents(CHANNEL_STATE, "");
    if (!room.currentState.maySendMessage(me)) return "read";
    if (!state) return "post";
    const content = state.getContent();
    if (content.closed) return "read";
    if ((content.post || []).includes(me)) return "post";
    if ((content.respond || []).includes(me)) return "respond";
    return "read";
}

export function joinedRooms(client) {
    return client.getRooms().filter((room) => room.getMyMembership() === "join");
}

export function lastActivity(room) {
    const events = room.getLiveTimeline().getEvents();
    for (let i = events.length - 1; i >= 0; i--) {
        if (events[i].getType() === "m.room.message") return events[i].getTs();
    }
    return events.length ? events[events.length - 1].getTs() : 0;
}

/** Messages from others after her read marker (counted here rather than taken from the
 * server's push counts, which miss what arrived before she joined a new conversation). */
export function unread(room) {
    const me = room.myUserId;
    const upTo = room.getEventReadUpTo(me);
    const events = room.getLiveTimeline().getEvents();
    let count = 0;
    for (let i = events.length - 1; i >= 0; i--) {
        const ev = events[i];
        if (ev.getId() === upTo || ev.getSender() === me) break;
        if (ev.getType() === "m.room.message" && !ev.isRelation("m.replace")) count++;
    }
    return count;
}

export function totalUnread(client) {
    return joinedRooms(client).reduce((sum, room) => sum + unread(room), 0);
}

/** The room's service members (the Carebridge bot where it keeps a role room or left a
 * notice in a direct message): not people, as in Element, so never named as company,
 * counted for a call or listed as readers. */
export function serviceMembers(room) {
    return room.currentState.getStateEvents("io.element.functional_members", "")?.getContent()?.service_members || [];
}

/** The people in the room besides me (service members left out). */
export function otherMembers(room, me) {
    const service = serviceMembers(room);
    return room.getJoinedMembers().filter((m) => m.userId !== me && !service.includes(m.userId));
}

/** The one-to-one conversation with a colleague, if there is one. */
export function directRoomWith(client, userId) {
    const me = client.getUserId();
    return joinedRooms(client).find((room) => {
        if (isChannel(room)) return false;
        const members = room.getMembers().filter((m) => ["join", "invite"].includes(m.membership));
        return members.length === 2 && members.some((m) => m.userId === userId) && members.some((m) => m.userId === me);
    });
}

/** Open the conversation with these colleagues, creating it if needed; returns the room id. */
export async function startConversation(client, userIds) {
    if (userIds.length === 1) {
        const existing = directRoomWith(client, userIds[0]);
        if (existing) return existing.roomId;
    }
    const created = await client.createRoom({
        preset: "trusted_private_chat",
        is_direct: true, // a group conversation too: Carebridge's module tells DMs from channels by it
        invite: userIds,
        visibility: "private",
        initial_state: [{type: "m.room.history_visibility", state_key: "", content: {history_visibility: "shared"}}],
    });
    return created.room_id;
}

export function displayName(client, userId, directory) {
    const known = directory?.get(userId);
    if (known) return known.display_name;
    return client.getUser(userId)?.displayName || userId;
}
