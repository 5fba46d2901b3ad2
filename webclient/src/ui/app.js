// The signed-in app: left panel (Recent Activity, Contacts, Channels, Messages), the
// open conversation on the right (one panel at a time on a phone), settings, and the
// call layer over everything.
import {useEffect, useMemo, useRef, useState} from "preact/hooks";
import {html} from "./html.js";
import {Brand, PasswordForm} from "./login.js";
import {Conversation} from "./conversation.js";
import {ContactsPanel, PeoplePicker} from "./people.js";
import {ActiveCall, IncomingCall} from "./calls.js";
import {AwaySettings, RoleEntries} from "./roles.js";
import {urgentTitle} from "./urgent.js";
import {CallManager} from "../calls.js";
import {askNotificationPermission, messageSound, notify, setTitle} from "../alerts.js";
import {displayName, isChannel, joinedRooms, lastActivity, startConversation, totalUnread, unread} from "../rooms.js";
import {staffDirectory} from "../session.js";

const TABS = [["recent", "Recent Activity"], ["contacts", "Contacts"], ["channels", "Channels"], ["messages", "Messages"]];

function route() {
    const found = /^#\/(room|settings|new)\/?(.*)$/.exec(location.hash);
    return found ? {view: found[1], roomId: decodeURIComponent(found[2] || "")} : {view: "home"};
}

function RoomList({rooms, current, label}) {
    if (!rooms.length) return html`<p class="cb-hint">Nothing here yet.</p>`;
    return html`<ul class="cb-rooms" aria-label=${label}>
        ${rooms.map((room) => {
            const count = unread(room);
            return html`<li><a class="cb-room" href=${`#/room/${encodeURIComponent(room.roomId)}`}
                    aria-current=${room.roomId === current ? "page" : undefined}>
                <span class="cb-room-name">${room.name}</span>
                ${count ? html`<span class="cb-badge" aria-label=${`${count} unread`}>${count}</span>` : null}
            </a></li>`;
        })}
    </ul>`;
}

function addressedToMe(client, room, event) {
    if (!isChannel(room)) return true;
    const me = client.getUserId();
    const content = event.getContent();
    if (content["m.mentions"]?.user_ids?.includes(me)) return true;
    const name = client.getUser(me)?.displayName;
    const body = String(content.body || "");
    return body.includes(me) || Boolean(name && body.includes(name));
}

export function App({client, config, onSignedOut}) {
    const [, setTick] = useState(0);
    const [ready, setReady] = useState(false);
    const [directory, setDirectory] = useState(new Map());
    const [where, setWhere] = useState(route());
    const [tab, setTab] = useState("recent");
    const live = useRef({ready: false, where});
    live.current.where = where;
    const nameOf = (id) => displayName(client, id, directory);
    const bump = useMemo(() => {
        let queued = false;
        return () => {
            if (queued) return;
            queued = true;
            requestAnimationFrame(() => { queued = false; setTick((t) => t + 1); });
        };
    }, []);
    const calls = useMemo(() => new CallManager(client, (id) => displayName(client, id, live.current.directory), bump), []);
    live.current.directory = directory;

    useEffect(() => {
        const onSync = (state) => {
            if (state === "PREPARED" || state === "SYNCING") {
                if (!live.current.ready) {
                    live.current.ready = true;
                    setReady(true);
                    for (const room of client.getRooms()) {
                        if (room.getMyMembership() === "invite") client.joinRoom(room.roomId).catch(() => {});
                    }
                }
            }
            bump();
        };
        const onTimeline = (event, room, toStart, removed, data) => {
            bump();
            if (toStart || !data?.liveEvent || !live.current.ready || !room) return;
            if (event.getSender() === client.getUserId() || event.getType() !== "m.room.message") return;
            const open = live.current.where.view === "room" && live.current.where.roomId === room.roomId;
            const urgent = addressedToMe(client, room, event)
                && urgentTitle(event, client.getUserId(), (id) => displayName(client, id, live.current.directory));
            if (urgent) {
                // Urgent messages and their repeat alerts notify even in the open conversation.
                messageSound();
                notify(urgent, "Open the messenger to read it", `${room.roomId}:${event.getId()}`);
            } else if (addressedToMe(client, room, event) && (!open || document.visibilityState !== "visible")) {
                messageSound();
                notify(`New message from ${displayName(client, event.getSender(), live.current.directory)}`,
                    isChannel(room) ? `In ${room.name}` : "Open the messenger to read it", room.roomId);
            }
        };
        const onMembership = (room, membership) => {
            if (membership === "invite") client.joinRoom(room.roomId).catch(() => {});
            bump();
        };
        client.on("sync", onSync);
        client.on("Room.timeline", onTimeline);
        client.on("Room.myMembership", onMembership);
        for (const name of ["Room.receipt", "Room.name", "Room.localEchoUpdated", "Room.UnreadNotifications",
            "RoomState.events", "RoomState.members", "RoomMember.membership", "User.presence", "Room.redaction"]) {
            client.on(name, bump);
        }
        client.on("Session.logged_out", () => onSignedOut(true));
        client.startClient({initialSyncLimit: 30});
        staffDirectory(client.getAccessToken())
            .then((answer) => setDirectory(new Map(answer.contacts.map((c) => [c.user_id, c]))))
            .catch(() => {});
        const onHash = () => setWhere(route());
        window.addEventListener("hashchange", onHash);
        return () => window.removeEventListener("hashchange", onHash);
    }, []);

    setTitle(config.organizationName, ready ? totalUnread(client) : 0);

    const logOut = async () => {
        client.stopClient(); // no sync in flight may mark her online again
        try {
            await client.setPresence({presence: "offline"});
        } catch { /* signing out matters more */ }
        try {
            await client.logout(true);
        } catch { /* the session may already be gone */ }
        location.hash = "";
        onSignedOut(false);
    };
    const open = (roomId) => { location.hash = `#/room/${encodeURIComponent(roomId)}`; };
    const [problem, setProblem] = useState("");
    const messageTo = async (ids) => {
        try {
            open(await startConversation(client, ids));
        } catch (err) {
            setProblem(`The conversation could not be started: ${err?.data?.error || err?.message || "unknown error"}`);
        }
    };
    const callRoom = async (roomId) => {
        open(roomId);
        const room = client.getRoom(roomId) || await new Promise((resolve) => {
            const seen = (r) => { if (r.roomId === roomId) { client.off("Room", seen); resolve(r); } };
            client.on("Room", seen);
        });
        calls.place(room, false);
    };
    const callTo = async (id, video) => {
        let roomId;
        try {
            roomId = await startConversation(client, [id]);
        } catch (err) {
            setProblem(`The call could not be started: ${err?.data?.error || err?.message || "unknown error"}`);
            return;
        }
        open(roomId);
        const room = client.getRoom(roomId) || await new Promise((resolve) => {
            const seen = (r) => { if (r.roomId === roomId) { client.off("Room", seen); resolve(r); } };
            client.on("Room", seen);
        });
        calls.place(room, video);
    };

    const rooms = ready ? joinedRooms(client) : [];
    const recent = [...rooms].sort((a, b) => lastActivity(b) - lastActivity(a));
    const channels = rooms.filter(isChannel).sort((a, b) => a.name.localeCompare(b.name));
    const conversations = recent.filter((r) => !isChannel(r));
    const room = where.view === "room" ? client.getRoom(where.roomId) : null;
    const hasMain = where.view !== "home";

    let main;
    if (where.view === "settings") {
        main = html`<section class="cb-settings" aria-labelledby="cb-settings-title">
            <button class="cb-back" onClick=${() => { location.hash = ""; }} aria-label="Back to the list">←</button>
            <h2 id="cb-settings-title">Settings</h2>
            <p>Signed in as <strong>${nameOf(client.getUserId())}</strong> (${client.getUserId()}), session ${client.getDeviceId()}</p>
            <h3>Change password</h3>
            <${PasswordForm} token=${client.getAccessToken()} submitLabel="Change password" />
            <h3>Alerts</h3>
            ${"Notification" in window && Notification.permission === "default"
                ? html`<button class="cb-allow-notifications" onClick=${() => askNotificationPermission().then(bump)}>
                      Turn on notifications</button>`
                : html`<p class="cb-hint">Browser notifications are ${"Notification" in window && Notification.permission === "granted"
                      ? "on" : "off (your browser's site settings can turn them on)"}.</p>`}
            <h3>Do not disturb</h3>
            <${AwaySettings} client=${client} directory=${directory} />
            <h3>End of shift</h3>
            <button class="cb-logout" onClick=${logOut}>Log out</button>
        </section>`;
    } else if (where.view === "new") {
        main = html`<section class="cb-new" aria-labelledby="cb-new-title">
            <h2 id="cb-new-title">New message</h2>
            <${PeoplePicker} directory=${directory} exclude=${[client.getUserId()]} action="Start conversation"
                onPick=${messageTo} onCancel=${() => { location.hash = ""; }} />
        </section>`;
    } else if (room) {
        main = html`<${Conversation} client=${client} room=${room} nameOf=${nameOf} directory=${directory}
            calls=${calls} onBack=${() => { location.hash = ""; }} />`;
    } else if (where.view === "room") {
        main = html`<p class="cb-hint">Opening the conversation…</p>`;
    } else {
        main = html`<p class="cb-hint cb-welcome">Choose a conversation, a channel or a colleague on the left.</p>`;
    }

    return html`<div class=${`cb-app${hasMain ? " has-main" : ""}`}>
        <header class="cb-top">
            <${Brand} config=${config} />
            <nav class="cb-top-links" aria-label="Account">
                <a href="#/settings" class="cb-settings-link">Settings</a>
                <button class="cb-logout-top" onClick=${logOut}>Log out</button>
            </nav>
        </header>
        <nav class="cb-left" aria-label="Conversations">
            <div role="tablist" class="cb-tabs" aria-label="Lists">
                ${TABS.map(([id, label]) => html`<button role="tab" id=${`cb-tab-${id}`} aria-selected=${tab === id}
                    aria-controls="cb-tabpanel" onClick=${() => setTab(id)}>${label}</button>`)}
            </div>
            <div id="cb-tabpanel" role="tabpanel" aria-labelledby=${`cb-tab-${tab}`} class="cb-list" data-ready=${ready}>
                ${!ready ? html`<p class="cb-hint">Loading…</p>`
                    : tab === "recent" ? html`<${RoomList} rooms=${recent} current=${room?.roomId} label="Recent activity" />`
                    : tab === "channels" ? html`<${RoomList} rooms=${channels} current=${room?.roomId} label="Channels" />`
                    : tab === "messages" ? html`<div><a class="cb-new-message cb-primary" href="#/new">New message</a>
                        <${RoomList} rooms=${conversations} current=${room?.roomId} label="Messages" /></div>`
                    : html`<div><${RoleEntries} client=${client} onOpen=${open} onCall=${callRoom} setProblem=${setProblem} />
                        <${ContactsPanel} client=${client} directory=${directory} onMessage=${(id) => messageTo([id])}
                        onCall=${callTo} /></div>`}
            </div>
        </nav>
        <main class="cb-main">
            ${problem ? html`<div class="cb-notice" role="alert">${problem}
                <button onClick=${() => setProblem("")}>OK</button></div>` : null}
            ${main}</main>
        <${IncomingCall} calls=${calls} nameOf=${nameOf} />
        <${ActiveCall} calls=${calls} nameOf=${nameOf} />
    </div>`;
}
