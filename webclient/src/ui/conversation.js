// The open conversation: header (call buttons in a one-to-one conversation, add people
// in a group), messages, and the composer that follows the person's rights in a channel
// (read-only: no composer; respond-only: reply to a message). A refusal by the server
// (the Synapse module's words) is shown in place.
import {useEffect, useRef, useState} from "preact/hooks";
import {html} from "./html.js";
import {CallTile, collect, Message} from "./timeline.js";
import {isChannel, otherMembers, rightsIn} from "../rooms.js";
import {sendFile} from "../media.js";
import {PeoplePicker} from "./people.js";
import {ClipIcon, PhoneIcon, VideoIcon} from "./icons.js";
import {UrgentToggle} from "./urgent.js";
import {URGENT_KEY} from "../roles.js";

function refusalOf(err) {
    return err?.data?.error || err?.message || "The server did not accept it.";
}

function Composer({client, room, rights, replyTo, editing, onDone, setNotice}) {
    const input = useRef(null);
    const fileInput = useRef(null);
    const [urgent, setUrgent] = useState(false);
    useEffect(() => {
        if (input.current && editing) input.current.value = editing.content.body || "";
        if (replyTo || editing) input.current?.focus();
    }, [replyTo?.id, editing?.id]);
    if (rights === "read") {
        return html`<p class="cb-rights" id="cb-rights">You can read this channel; only some colleagues can post in it.</p>`;
    }
    if (rights === "respond" && !replyTo) {
        return html`<p class="cb-rights" id="cb-rights">In this channel you reply to messages: choose Reply on a message.</p>`;
    }
    const send = async () => {
        const text = input.current.value.trim();
        if (!text) return;
        input.current.value = "";
        let content = {msgtype: "m.text", body: text};
        if (editing) {
            content = {msgtype: "m.text", body: `* ${text}`, "m.new_content": {msgtype: "m.text", body: text},
                "m.relates_to": {rel_type: "m.replace", event_id: editing.id}};
        } else if (replyTo) {
            content["m.relates_to"] = {"m.in_reply_to": {event_id: replyTo.id}};
        }
        if (urgent && !editing) content[URGENT_KEY] = true;
        setUrgent(false);
        onDone();
        try {
            await client.sendMessage(room.roomId, content);
        } catch (err) {
            setNotice(`Your message was not sent: ${refusalOf(err)}`);
        }
    };
    const keyDown = (e) => {
        if (e.key === "Enter" && !e.shiftKey) {
            e.preventDefault();
            send();
        } else if (e.key === "Escape") {
            onDone();
        }
    };
    const pick = async (e) => {
        const chooser = e.currentTarget;
        const files = [...chooser.files];
        chooser.value = "";
        for (const file of files) await uploadOne(client, room, file, setNotice, replyTo);
        onDone();
    };
    return html`<div class="cb-composer">
        ${replyTo ? html`<p class="cb-replying">Replying to: ${replyTo.content.body}
            <button onClick=${onDone}>Cancel</button></p>` : null}
        ${editing ? html`<p class="cb-replying">Editing your message <button onClick=${onDone}>Cancel</button></p>` : null}
        <button class="cb-attach" aria-label="Attach a photo or file" title="Attach a photo or file"
            onClick=${() => fileInput.current.click()}><${ClipIcon} /></button>
        <input type="file" ref=${fileInput} class="cb-file-input" multiple onChange=${pick} aria-label="Attach a photo or file" tabindex="-1" />
        ${editing ? null : html`<${UrgentToggle} urgent=${urgent} setUrgent=${setUrgent} />`}
        <label for="cb-compose" class="cb-visually-hidden">Message</label>
        <textarea id="cb-compose" ref=${input} rows="2" placeholder="Write a message…" onKeyDown=${keyDown}></textarea>
        <button class="cb-send cb-primary" onClick=${send}>Send</button>
    </div>`;
}

async function uploadOne(client, room, file, setNotice, replyTo) {
    try {
        const relates = replyTo ? {"m.in_reply_to": {event_id: replyTo.id}} : undefined;
        await sendFile(client, room.roomId, file, relates);
    } catch (err) {
        setNotice(`The file was not sent: ${refusalOf(err)}`);
    }
}

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
    const items = collect(room);
    const byId = new Map(items.map((i) => [i.id, i]));
    const rights = rightsIn(room, me);
    const channel = isChannel(room);
    const readers = readersByEvent(room, me);
    const last = items[items.length - 1];
    useEffect(() => {
        setReplyTo(null);
        setEditing(null);
        setNotice("");
    }, [room.roomId]);
    useEffect(() => {
        list.current?.scrollTo?.(0, list.current.scrollHeight);
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
        <ol class="cb-timeline" ref=${list} aria-label="Messages" tabindex="0">
            ${items.map((item) => item.call ? html`<${CallTile} key=${item.id} item=${item} nameOf=${nameOf} />` : html`<${Message} key=${item.id} client=${client} item=${item} byId=${byId}
                nameOf=${nameOf} me=${me} canReply=${rights !== "read"} readers=${readers.get(item.id) || []}
                onReply=${(i) => { setEditing(null); setReplyTo(i); }} onEdit=${(i) => { setReplyTo(null); setEditing(i); }} />`)}
        </ol>
        <${Composer} client=${client} room=${room} rights=${rights} replyTo=${replyTo} editing=${editing}
            onDone=${done} setNotice=${setNotice} />
    </section>`;
}
