// A conversation's messages: replies, edits ("edited"), reactions, pictures and files
// (authenticated media through blob: URLs) and who has read up to where. Nothing here
// offers to delete: history is retained by policy.
import {useEffect, useState} from "preact/hooks";
import {html} from "./html.js";
import {FileIcon} from "./icons.js";
import {blobUrl, download} from "../media.js";
import {MessageExtras, showsReadStatus} from "./urgent.js";

export const EMOJI = ["👍", "👌", "🙏", "✅", "❤️", "😊", "😂", "😮", "😢", "🎉", "👀", "🚑", "💊", "🩺", "⏰", "☕"];

/** Messages in order, with their latest edit, reactions and reply target applied. */
export function collect(room) {
    const events = room.getLiveTimeline().getEvents();
    const edits = new Map();
    const reactions = new Map();
    const messages = [];
    const calls = new Map();
    for (const ev of events) {
        if (ev.status === "not_sent") continue;
        const callId = ev.getType().startsWith("m.call.") ? ev.getContent().call_id : null;
        if (callId && ev.getType() === "m.call.invite") {
            const video = /m=video [1-9]/.test(ev.getContent().offer?.sdp || "");
            calls.set(callId, {video, answerTs: null, endTs: null, rejected: false});
            messages.push(ev);
            continue;
        }
        const call = callId ? calls.get(callId) : null;
        if (call) {
            if (ev.getType() === "m.call.answer") call.answerTs ??= ev.getTs();
            if (ev.getType() === "m.call.reject") call.rejected = true;
            if (ev.getType() === "m.call.hangup") call.endTs ??= ev.getTs();
            continue;
        }
        const rel = ev.getContent()["m.relates_to"] || ev.getWireContent?.()["m.relates_to"];
        if (ev.getType() === "m.reaction" && rel?.rel_type === "m.annotation") {
            const byKey = reactions.get(rel.event_id) || new Map();
            const who = byKey.get(rel.key) || new Set();
            who.add(ev.getSender());
            byKey.set(rel.key, who);
            reactions.set(rel.event_id, byKey);
        } else if (ev.getType() === "m.room.message" && rel?.rel_type === "m.replace") {
            if (ev.getSender() === room.findEventById(rel.event_id)?.getSender() || !room.findEventById(rel.event_id)) {
                edits.set(rel.event_id, ev.getContent()["m.new_content"] || ev.getContent());
            }
        } else if (ev.getType() === "m.room.message") {
            messages.push(ev);
        }
    }
    return messages.map((ev) => ({
        call: ev.getType() === "m.call.invite" ? calls.get(ev.getContent().call_id) : null,
        ev,
        id: ev.getId(),
        content: edits.get(ev.getId()) || ev.getContent(),
        edited: edits.has(ev.getId()),
        reactions: reactions.get(ev.getId()) || new Map(),
        replyTo: ev.getContent()["m.relates_to"]?.["m.in_reply_to"]?.event_id,
    }));
}

/** Strip the quoted fallback some clients put before a reply's text. */
export function bodyText(content) {
    const body = typeof content.body === "string" ? content.body : "";
    return body.replace(/^(> .*\n)+\n?/, "");
}

function MediaImage({client, content}) {
    const [src, setSrc] = useState(null);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
        blobUrl(client, content.url).then(setSrc, () => setFailed(true));
    }, [content.url]);
    if (failed) return html`<p class="cb-media-failed">The picture could not be loaded.</p>`;
    return src ? html`<img class="cb-image" src=${src} alt=${content.body || "picture"} />`
        : html`<span class="cb-media-loading">Loading picture…</span>`;
}

function FileTile({client, content}) {
    const size = content.info?.size ? ` (${Math.ceil(content.info.size / 1024)} KB)` : "";
    return html`<button class="cb-file" onClick=${() => download(client, content.url, content.body)}>
        <${FileIcon} /> Download ${content.body}${size}</button>`;
}

function Body({client, content}) {
    if (content.msgtype === "m.image" && content.url) return html`<${MediaImage} client=${client} content=${content} />`;
    if (["m.file", "m.video", "m.audio"].includes(content.msgtype) && content.url) {
        return html`<${FileTile} client=${client} content=${content} />`;
    }
    return html`<p class="cb-body">${bodyText(content)}</p>`;
}

function EmojiPicker({onPick, onClose}) {
    return html`<div class="cb-emoji" role="dialog" aria-label="Choose a reaction">
        ${EMOJI.map((e) => html`<button class="cb-emoji-choice" aria-label=${`React with ${e}`}
            onClick=${() => onPick(e)}>${e}</button>`)}
        <button class="cb-emoji-close" onClick=${onClose}>Close</button>
    </div>`;
}

function duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A call in the conversation: who called, audio or video, and how it ended. */
export function CallTile({item, nameOf}) {
    const {call, ev} = item;
    const kind = call.video ? "Video call" : "Audio call";
    const outcome = call.answerTs && call.endTs ? `talked ${duration(call.endTs - call.answerTs)}`
        : call.answerTs ? "in progress" : call.rejected ? "declined" : call.endTs ? "missed" : "ringing";
    const time = new Date(ev.getTs()).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    return html`<li class="cb-call-tile" data-event-id=${item.id}>
        ${kind} from ${nameOf(ev.getSender())} at <time>${time}</time>: ${outcome}</li>`;
}

export function Message({client, item, byId, nameOf, me, canReply, onReply, onEdit, readers}) {
    const [picking, setPicking] = useState(false);
    const sender = item.ev.getSender();
    const target = item.replyTo ? byId.get(item.replyTo) : null;
    const react = async (key) => {
        setPicking(false);
        await client.sendEvent(item.ev.getRoomId(), "m.reaction", {
            "m.relates_to": {rel_type: "m.annotation", event_id: item.id, key},
        });
    };
    const time = new Date(item.ev.getTs()).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
    return html`<li class="cb-message" data-event-id=${item.id} data-mine=${sender === me}>
        <div class="cb-meta"><span class="cb-sender">${nameOf(sender)}</span> <time>${time}</time></div>
        ${target ? html`<blockquote class="cb-quote">${nameOf(target.ev.getSender())}: ${bodyText(target.content)}</blockquote>`
            : item.replyTo ? html`<blockquote class="cb-quote">In reply to an earlier message</blockquote>` : null}
        <${Body} client=${client} content=${item.content} />
        ${item.edited ? html`<span class="cb-edited">(edited)</span>` : null}
        ${item.reactions.size ? html`<ul class="cb-reactions" aria-label="Reactions">
            ${[...item.reactions].map(([key, who]) => html`<li class="cb-reaction"
                title=${[...who].map(nameOf).join(", ")}>${key} ${who.size}</li>`)}</ul>` : null}
        <div class="cb-actions">
            ${canReply ? html`<button class="cb-reply" onClick=${() => onReply(item)}>Reply</button>` : null}
            <button class="cb-react" aria-expanded=${picking} onClick=${() => setPicking(!picking)}>React</button>
            ${sender === me && item.content.msgtype === "m.text"
                ? html`<button class="cb-edit" onClick=${() => onEdit(item)}>Edit</button>` : null}
        </div>
        ${picking ? html`<${EmojiPicker} onPick=${react} onClose=${() => setPicking(false)} />` : null}
        ${readers.length && !showsReadStatus(client, item, me) ? html`<p class="cb-read">Read by ${readers.map(nameOf).join(", ")}</p>` : null}
        <${MessageExtras} client=${client} item=${item} me=${me} nameOf=${nameOf} />
    </li>`;
}
