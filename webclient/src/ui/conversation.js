// The open conversation: header (call buttons in a one-to-one conversation, add people
// in a group), messages (opened at the newest, kept there while she is there), and the
// composer (composer.js). A refusal by the server (the Synapse module's words) is shown
// in place.
import {useEffect, useLayoutEffect, useRef, useState} from "preact/hooks";
import {html} from "./html.js";
import {CallTile, collect, Message} from "./timeline.js";
import {Composer, refusalOf, uploadOne} from "./composer.js";
import {isChannel, otherMembers, rightsIn} from "../rooms.js";
import {PeoplePicker} from "./people.js";
import {PhoneIcon, VideoIcon} from "./icons.js";

const NEAR_THE_END = 48; // px: "at the newest message" allows for rounding and a small scroll

function readersByEvent(room, me) {
    const byEvent = new Map();
    for (const member of otherMembers(room, me)) {
        const id = room.getEventReadUpTo(member.userId);
        if (!id) continue;
        byEvent.set(id, [...(byEvent.get(id) || []), member.userId]);
    }
    return byEvent;
}

export function Conversation({client, room, nameOf, directory, calls, onBack}) {
    const me = client.getUserId();
    const [replyTo, setReplyTo] = useState(null);
    const [editing, setEditing] = useState(null);
    const [notice, setNotice] = useState("");
    const [adding, setAdding] = useState(false);
    const [dragging, setDragging] = useState(false);
    const list = useRef(null);
    const input = useRef(null);
    const atEnd = useRef(true); // follow new messages until she scrolls up to read earlier ones
    const items = collect(room);
    const byId = new Map(items.map((i) => [i.id, i]));
    const rights = rightsIn(room, me);
    const channel = isChannel(room);
    const readers = readersByEvent(room, me);
    const last = items[items.length - 1];
    const pinnedAt = useRef(0); // where toEnd last put the list
    const toEnd = () => {
        const el = list.current;
        if (!atEnd.current || !el) return;
        el.scrollTop = el.scrollHeight;
        pinnedAt.current = el.scrollTop;
    };
    const scrolled = () => {
        // The scroll event of toEnd's own scroll can arrive after a picture above has grown
        // the list: that is not her scrolling up, so only a move above where toEnd put the
        // list (or the end) lets go of the newest message.
        const el = list.current;
        if (!el) return;
        const nearEnd = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_THE_END;
        atEnd.current = nearEnd || el.scrollTop >= pinnedAt.current - 1;
        if (atEnd.current && !nearEnd) toEnd();
    };
    useLayoutEffect(toEnd); // every render: a new message, a reaction, a receipt
    useEffect(() => {
        // Pictures load after the text: keep the newest message in view while they do.
        const el = list.current;
        const observer = typeof ResizeObserver === "function" ? new ResizeObserver(toEnd) : null;
        for (const child of el?.children || []) observer?.observe(child);
        return () => observer?.disconnect();
    }, [items.length]);
    useEffect(() => {
        const events = room.getLiveTimeline().getEvents();
        const newest = events[events.length - 1];
        if (newest && newest.getId()?.startsWith("$") && document.visibilityState === "visible"
            && room.getEventReadUpTo(me) !== newest.getId()) {
            client.setRoomReadMarkers(room.roomId, newest.getId(), newest).catch(() => {});
        }
    }, [last?.id, room.roomId]);
    const done = () => {
        setReplyTo(null);
        setEditing(null);
    };
    // Edit fills the composer in the click itself, so what she types next is the correction
    // (no later render overwrites it).
    const edit = (item) => {
        setReplyTo(null);
        setEditing(item);
        if (input.current) {
            input.current.value = item.content.body || "";
            input.current.focus();
        }
    };
    const reply = (item) => {
        setEditing(null);
        setReplyTo(item);
        input.current?.focus();
    };
    const drop = async (e) => {
        e.preventDefault();
        setDragging(false);
        if (rights !== "post") return;
        for (const file of e.dataTransfer.files) await uploadOne(client, room, file, setNotice, null);
    };
    const paste = async (e) => {
        const files = [...(e.clipboardData?.files || [])];
        if (!files.length || rights !== "post") return;
        e.preventDefault();
        for (const file of files) await uploadOne(client, room, file, setNotice, null);
    };
    const others = otherMembers(room, me);
    const invite = async (ids) => {
        setAdding(false);
        for (const id of ids) {
            try {
                await client.invite(room.roomId, id);
            } catch (err) {
                setNotice(`${nameOf(id)} could not be added: ${refusalOf(err)}`);
            }
        }
    };
    return html`<section class=${`cb-conversation${dragging ? " cb-dragging" : ""}`} aria-labelledby="cb-room-title"
            onDragOver=${(e) => { e.preventDefault(); setDragging(true); }} onDragLeave=${() => setDragging(false)}
            onDrop=${drop} onPaste=${paste}>
        <header class="cb-room-header">
            <button class="cb-back" onClick=${onBack} aria-label="Back to the list">←</button>
            <h2 id="cb-room-title">${room.name}</h2>
            ${channel ? html`<span class="cb-kind">Channel</span>` : html`
                <button class="cb-call-audio" aria-label="Audio call" title="Audio call" onClick=${() => calls.place(room, false)}><${PhoneIcon} /></button>
                <button class="cb-call-video" aria-label="Video call" title="Video call" onClick=${() => calls.place(room, true)}><${VideoIcon} /></button>
                <button class="cb-add-people" onClick=${() => setAdding(!adding)}>Add people</button>`}
        </header>
        ${!channel ? html`<p class="cb-members">With ${others.map((m) => m.name).join(", ") || "nobody yet"}</p>` : null}
        ${adding ? html`<${PeoplePicker} directory=${directory} exclude=${[me, ...others.map((m) => m.userId)]}
            action="Add" onPick=${invite} onCancel=${() => setAdding(false)} />` : null}
        ${notice ? html`<div class="cb-notice" role="alert">${notice}
            <button onClick=${() => setNotice("")}>OK</button></div>` : null}
        <button class="cb-earlier" onClick=${() => client.scrollback(room, 30)}>Show earlier messages</button>
        <ol class="cb-timeline" ref=${list} aria-label="Messages" tabindex="0" onScroll=${scrolled}
            onLoadCapture=${toEnd}>
            ${items.map((item) => item.call ? html`<${CallTile} key=${item.id} item=${item} nameOf=${nameOf} />` : html`<${Message} key=${item.id} client=${client} item=${item} byId=${byId}
                nameOf=${nameOf} me=${me} canReply=${rights !== "read"} readers=${readers.get(item.id) || []}
                onReply=${reply} onEdit=${edit} />`)}
        </ol>
        <${Composer} client=${client} room=${room} rights=${rights} replyTo=${replyTo} editing=${editing}
            onDone=${done} setNotice=${setNotice} input=${input} />
    </section>`;
}
