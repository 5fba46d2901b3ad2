// Urgent messages in the web client: the composer's Urgent switch, the URGENT mark, the
// read status under one's own messages (from read receipts), the escalation notice, and
// the title of an urgent alert's notification.
import {html} from "./html.js";
import {URGENT_KEY, URGENT_RECORD} from "../roles.js";
import {isChannel, otherMembers} from "../rooms.js";

export function UrgentToggle({urgent, setUrgent}) {
    return html`<label class=${`cb-urgent-toggle${urgent ? " on" : ""}`} title="Alert again until read; escalate if unread">
        <input type="checkbox" role="switch" class="cb-urgent" checked=${urgent}
            onChange=${(e) => setUrgent(e.currentTarget.checked)} /> Urgent</label>`;
}

/** Does this content ask to be urgent (the field, or the !urgent keyword for other clients)? */
export function isUrgent(content) {
    return content?.[URGENT_KEY] === true || /^\s*!urgent(\s|$)/i.test(String(content?.body || ""));
}

function clock(ts) {
    return new Date(ts).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
}

/** "Sent", or "Read by Nina Nurse 07:04" (a receipt on this message or a later one). */
export function readStatus(room, event, me, nameOf) {
    const readers = otherMembers(room, me)
        .filter((m) => m.userId !== event.getSender())
        .filter((m) => room.hasUserReadEvent(m.userId, event.getId()))
        .map((m) => {
            const receipt = room.getReadReceiptForUserId(m.userId, false);
            return `${nameOf(m.userId)}${receipt?.data?.ts ? ` ${clock(receipt.data.ts)}` : ""}`;
        });
    return readers.length ? `Read by ${readers.join(", ")}` : "Sent";
}

/** Does this message show its own read status (mine, in a conversation, not a channel)? */
export function showsReadStatus(client, item, me) {
    const room = client.getRoom(item.ev.getRoomId());
    return item.ev.getSender() === me && Boolean(room) && !isChannel(room);
}

/** Shown under a message: the URGENT mark, an escalation notice's emphasis, my read status. */
export function MessageExtras({client, item, me, nameOf}) {
    const room = client.getRoom(item.ev.getRoomId());
    const content = item.content || {};
    const status = showsReadStatus(client, item, me);
    const record = content[URGENT_RECORD];
    const sent = item.id?.startsWith("$");
    return html`${isUrgent(content) ? html`<span class="cb-urgent-mark" aria-label="Urgent">URGENT</span>` : null}
        ${record?.step === "escalated" ? html`<span class="cb-escalation-mark">Escalated</span>` : null}
        ${status ? html`<p class="cb-read-status" data-event-id=${item.id}>${sent ? readStatus(room, item.ev, me, nameOf) : "Sending…"}</p>` : null}`;
}

/** Is this repeat alert for me? It names its recipients, or (a channel too large to list)
 * mentions the whole room: everyone but the message's sender. */
function alertsMe(content, me) {
    const mentions = content["m.mentions"] || {};
    if (mentions.user_ids?.includes(me)) return true;
    return mentions.room === true && content[URGENT_RECORD]?.sender !== me;
}

/** A notification title for an urgent message or a repeat alert addressed to me, else null. */
export function urgentTitle(event, me, nameOf) {
    const content = event.getContent();
    if (content[URGENT_RECORD]?.step === "alert" && alertsMe(content, me)) {
        return "URGENT: a message for you is still unread";
    }
    if (isUrgent(content)) return `URGENT message from ${nameOf(event.getSender())}`;
    return null;
}
