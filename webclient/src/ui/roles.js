// Roles in Contacts ("ER charge nurse: Blessing Okafor, until 07:15", message or call the
// role, take or release it where allowed) and do not disturb in Settings.
import {useEffect, useState} from "preact/hooks";
import {html} from "./html.js";
import {ChatIcon, PhoneIcon} from "./icons.js";
import {awayState, listRoles, openRoleRoom, releaseRole, setAway, takeRole} from "../roles.js";

function until(ms) {
    return ms ? new Date(ms).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) : null;
}

function holdersText(role) {
    if (!role.holders.length) return "nobody on shift";
    const names = role.holders.map((h) => h.display_name + (h.away ? " (away)" : "")).join(", ");
    const end = until(role.until_ts);
    return end ? `${names}, until ${end}` : names;
}

export function RoleEntries({client, onOpen, onCall, setProblem}) {
    const [roles, setRoles] = useState(null);
    const token = client.getAccessToken();
    const refresh = () => listRoles(token).then((answer) => setRoles(answer.roles)).catch(() => setRoles([]));
    useEffect(() => {
        refresh();
        const timer = setInterval(refresh, 60000);
        return () => clearInterval(timer);
    }, []);
    if (!roles || !roles.length) return null;
    const open = async (role, call) => {
        try {
            const {room_id: roomId} = await openRoleRoom(token, role.name);
            if (call) onCall(roomId, role); else onOpen(roomId);
        } catch (err) {
            setProblem(`${role.display_name} could not be reached: ${err.message}`);
        }
    };
    const change = async (action, role) => {
        try {
            await (action === "take" ? takeRole : releaseRole)(token, role.name);
        } catch (err) {
            setProblem(err.message);
        }
        refresh();
    };
    return html`<section class="cb-roles" aria-labelledby="cb-roles-title">
        <h3 id="cb-roles-title">Roles on shift</h3>
        <ul class="cb-role-list" aria-label="Roles">
            ${roles.map((role) => html`<li class="cb-role" data-role=${role.name}>
                <span class="cb-role-name">${role.display_name}</span>
                <span class="cb-role-holders">${holdersText(role)}</span>
                <span class="cb-contact-actions">
                    ${role.holds ? null : html`
                        <button class="cb-role-message" aria-label=${`Message ${role.display_name}`} onClick=${() => open(role, false)}><${ChatIcon} /></button>
                        <button class="cb-role-call" aria-label=${`Call ${role.display_name}`} disabled=${role.holders.length !== 1}
                            title=${role.holders.length === 1 ? `Call ${role.display_name}` : "A call needs exactly one holder"}
                            onClick=${() => open(role, true)}><${PhoneIcon} /></button>`}
                    ${role.can_take ? html`<button class="cb-role-take" onClick=${() => change("take", role)}>Take</button>` : null}
                    ${role.holds ? html`<button class="cb-role-release" onClick=${() => change("release", role)}>Release</button>` : null}
                </span>
            </li>`)}
        </ul>
    </section>`;
}

export function AwaySettings({client, directory}) {
    const [state, setState] = useState(null);
    const [forward, setForward] = useState("");
    const [message, setMessage] = useState("");
    const token = client.getAccessToken();
    useEffect(() => {
        awayState(token).then((s) => { setState(s); setForward(s.forward_to || ""); }).catch(() => {});
    }, []);
    if (!state) return null;
    const me = client.getUserId();
    const save = async (away) => {
        try {
            const answer = await setAway(token, away, away ? forward : null);
            setMessage(answer.message);
            setState({...state, away, forward_to: away ? forward || null : null});
        } catch (err) {
            setMessage(err.message);
        }
    };
    return html`<div class="cb-away">
        <p class="cb-away-state">${state.away ? "Do not disturb is on." : "You receive urgent messages."}</p>
        <label for="cb-away-forward">Forward urgent messages to</label>
        <select id="cb-away-forward" value=${forward} onChange=${(e) => setForward(e.currentTarget.value)}>
            <option value="">Nobody (the backup takes over)</option>
            ${[...directory.values()].filter((c) => c.user_id !== me).map((c) => html`<option value=${c.user_id}>${c.display_name}</option>`)}
        </select>
        ${state.away ? html`<button class="cb-away-off" onClick=${() => save(false)}>Turn do not disturb off</button>`
            : html`<button class="cb-away-on" onClick=${() => save(true)}>Turn do not disturb on</button>`}
        ${message ? html`<p class="cb-hint" role="status">${message}</p>` : null}
    </div>`;
}
