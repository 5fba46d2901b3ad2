// Colleagues: the Contacts list (online dot, online/all switch, search by name, message
// or call) and the picker used for a new message and for adding people.
import {useState} from "preact/hooks";
import {html} from "./html.js";
import {ChatIcon, PhoneIcon, VideoIcon} from "./icons.js";

export function presenceOf(client, userId) {
    const p = client.getUser(userId)?.presence;
    return p === "online" || p === "unavailable" ? p : "offline";
}

function matches(contact, term) {
    const t = term.trim().toLowerCase();
    return !t || contact.display_name.toLowerCase().includes(t) || contact.user_id.toLowerCase().includes(t);
}

export function PeoplePicker({directory, exclude, action, onPick, onCancel}) {
    const [term, setTerm] = useState("");
    const [chosen, setChosen] = useState([]);
    const found = [...directory.values()]
        .filter((c) => !exclude.includes(c.user_id) && !chosen.includes(c.user_id) && term && matches(c, term))
        .slice(0, 8);
    return html`<div class="cb-picker" role="group" aria-label="Choose colleagues">
        <label for="cb-picker-search">Colleague's name</label>
        <input id="cb-picker-search" value=${term} onInput=${(e) => setTerm(e.currentTarget.value)}
            placeholder="Type part of a name" autocomplete="off" />
        <ul class="cb-picker-results">
            ${found.map((c) => html`<li><button class="cb-picker-option" onClick=${() => { setChosen([...chosen, c.user_id]); setTerm(""); }}>
                ${c.display_name} <span class="cb-group">${c.groups.join(", ")}</span></button></li>`)}
        </ul>
        <p class="cb-chosen" aria-live="polite">${chosen.length ? `Chosen: ${chosen.map((id) => directory.get(id)?.display_name || id).join(", ")}` : "Nobody chosen yet"}</p>
        <button class="cb-primary cb-picker-go" disabled=${!chosen.length} onClick=${() => onPick(chosen)}>${action}</button>
        <button onClick=${onCancel}>Cancel</button>
    </div>`;
}

export function ContactsPanel({client, directory, onMessage, onCall}) {
    const [term, setTerm] = useState("");
    const [onlineOnly, setOnlineOnly] = useState(true); // on by default, as in the old messenger
    const me = client.getUserId();
    const contacts = [...directory.values()]
        .filter((c) => c.user_id !== me && matches(c, term))
        .map((c) => ({...c, presence: presenceOf(client, c.user_id)}))
        .filter((c) => !onlineOnly || c.presence !== "offline")
        .sort((a, b) => a.display_name.localeCompare(b.display_name));
    return html`<div class="cb-contacts">
        <label class="cb-switch">
            <input type="checkbox" role="switch" checked=${onlineOnly} id="cb-online-only"
                aria-checked=${onlineOnly} onChange=${(e) => setOnlineOnly(e.currentTarget.checked)} />
            <span class="cb-switch-track" aria-hidden="true"></span>
            Online only
        </label>
        <label for="cb-contact-search" class="cb-visually-hidden">Search colleagues by name</label>
        <input id="cb-contact-search" type="search" placeholder="Search by name" value=${term}
            onInput=${(e) => setTerm(e.currentTarget.value)} />
        <ul class="cb-contact-list" aria-label="Colleagues">
            ${contacts.map((c) => html`<li class="cb-contact" data-user-id=${c.user_id} data-presence=${c.presence}>
                <span class=${`cb-dot ${c.presence}`} role="img" aria-label=${c.presence === "offline" ? "offline" : "online"}></span>
                <span class="cb-contact-name">${c.display_name}</span>
                <span class="cb-group">${c.groups.join(", ")}</span>
                <span class="cb-contact-actions">
                    <button class="cb-contact-message" aria-label=${`Message ${c.display_name}`} onClick=${() => onMessage(c.user_id)}><${ChatIcon} /></button>
                    <button class="cb-contact-call" aria-label=${`Audio call ${c.display_name}`} onClick=${() => onCall(c.user_id, false)}><${PhoneIcon} /></button>
                    <button class="cb-contact-video" aria-label=${`Video call ${c.display_name}`} onClick=${() => onCall(c.user_id, true)}><${VideoIcon} /></button>
                </span>
            </li>`)}
        </ul>
        ${contacts.length ? null : html`<p class="cb-hint">${onlineOnly && !term
            ? "Nobody else is online. Turn off \u201cOnline only\u201d to see everyone." : "Nobody matches."}</p>`}
    </div>`;
}
