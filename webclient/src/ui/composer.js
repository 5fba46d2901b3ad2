// The message box of the open conversation: text (Enter sends, Shift+Enter a new line),
// an emoji picker, attachments, replies and edits, and the Urgent switch. It follows the person's rights in a
// channel (read-only: no composer; respond-only: reply to a message). It belongs to one
// room: the conversation is keyed by room, so nothing typed carries over to another.
import {useEffect, useRef, useState} from "preact/hooks";
import {html} from "./html.js";
import {ClipIcon, SmileIcon} from "./icons.js";
import {EmojiPicker} from "./emoji.js";
import {sendFile} from "../media.js";
import {UrgentToggle} from "./urgent.js";
import {URGENT_KEY} from "../roles.js";

export function refusalOf(err) {
    return err?.data?.error || err?.message || "The server did not accept it.";
}

export async function uploadOne(client, room, file, setNotice, replyTo) {
    try {
        const relates = replyTo ? {"m.in_reply_to": {event_id: replyTo.id}} : undefined;
        await sendFile(client, room.roomId, file, relates);
    } catch (err) {
        setNotice(`The file was not sent: ${refusalOf(err)}`);
    }
}

/** Put text at the cursor (replacing a selection), as if typed. Focus stays where it is
 * (in the emoji picker, so several can be chosen; Escape then returns to the box). */
export function insertAtCursor(input, text) {
    input.setRangeText(text, input.selectionStart, input.selectionEnd, "end");
    input.dispatchEvent(new Event("input", {bubbles: true}));
}

export function Composer({client, room, rights, replyTo, editing, onDone, setNotice, input}) {
    const fileInput = useRef(null);
    const smiley = useRef(null);
    const [picking, setPicking] = useState(false);
    const [urgent, setUrgent] = useState(false);
    useEffect(() => {
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
            if (picking) setPicking(false);
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
    const closePicker = () => {
        setPicking(false);
        smiley.current?.focus();
    };
    return html`<div class="cb-composer">
        ${replyTo ? html`<p class="cb-replying">Replying to: ${replyTo.content.body}
            <button onClick=${onDone}>Cancel</button></p>` : null}
        ${editing ? html`<p class="cb-replying">Editing your message <button onClick=${onDone}>Cancel</button></p>` : null}
        ${picking ? html`<${EmojiPicker} onPick=${(emoji) => insertAtCursor(input.current, emoji)} onClose=${closePicker} />` : null}
        <button class="cb-attach" aria-label="Attach a photo or file" title="Attach a photo or file"
            onClick=${() => fileInput.current.click()}><${ClipIcon} /></button>
        <button class="cb-emoji-button" ref=${smiley} aria-label="Insert an emoji" title="Insert an emoji"
            aria-haspopup="dialog" aria-expanded=${picking} aria-controls=${picking ? "cb-emoji-picker" : undefined}
            onClick=${() => (picking ? closePicker() : setPicking(true))}><${SmileIcon} /></button>
        <input type="file" ref=${fileInput} class="cb-file-input" multiple onChange=${pick} aria-label="Attach a photo or file" tabindex="-1" />
        ${editing ? null : html`<${UrgentToggle} urgent=${urgent} setUrgent=${setUrgent} />`}
        <label for="cb-compose" class="cb-visually-hidden">Message</label>
        <textarea id="cb-compose" ref=${input} rows="2" placeholder="Write a message…" onKeyDown=${keyDown}></textarea>
        <button class="cb-send cb-primary" onClick=${send}>Send</button>
    </div>`;
}
