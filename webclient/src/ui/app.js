// The signed-in app: left panel (Recent Activity, Contacts, Channels, Messages), the
// open conversation on the right (one panel at a time on a phone), settings, the call
// panel above the conversation (never over the message box), and the "No connection"
// screen over everything while offline.
import {useEffect, useMemo, useRef, useState} from "preact/hooks";
import {ClientEvent, HttpApiEvent, RoomEvent, RoomMemberEvent, RoomStateEvent, UserEvent} from "matrix-js-sdk";
import {html} from "./html.js";
import {Brand, PasswordForm} from "./login.js";
import {Conversation} from "./conversation.js";
import {ContactsPanel, PeoplePicker} from "./people.js";
import {ActiveCall, IncomingCall} from "./calls.js";
import {RoomList, TABS} from "./lists.js";
import {OpeningConversation} from "./opening.js";
import {OfflineWatch} from "./offline.js";
import {AwaySettings, RoleEntries} from "./roles.js";
import {urgentTitle} from "./urgent.js";
import {CallManager} from "../calls.js";
import {askNotificationPermission, firstAnnouncement, messageSound, notify, setTitle} from "../alerts.js";
import {displayName, isChannel, joinedRooms, lastActivity, startConversation, totalUnread} from "../rooms.js";
import {clearEverything, registerServiceWorker} from "../pwa.js";
import {staffDirectory} from "../session.js";

function route() {
    const found = /^#\/(room|settings|new)\/?(.*)$/.exec(location.hash);
    return found ? {view: found[1], roomId: decodeURIComponent(found[2] || "")} : {view: "home"};
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
    const [opening, setOpening] = useState(null); // {names, roomId?}: a conversation being opened
    const [unreachable, setUnreachable] = useState(false);
    const live = useRef({ready: false, where, opening: null});
    live.current.opening = opening;
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
            setUnreachable(state === "ERROR");
            if (state === "PREPARED" || state === "SYNCING") {
                if (!live.current.ready) {
                    live.current.ready = true;
                    setReady(true);
                    // Only now: the worker's download of the app shell never competes with
                    // the first sync for a phone's bandwidth.
                    setTimeout(registerServiceWorker, 0);
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
            // The SDK reports an event for each timeline set holding it: announce it from
            // the room's own (unfiltered) one only, and once per event id.
            if (data.timeline && data.timeline.getTimelineSet() !== room.getUnfilteredTimelineSet()) return;
            if (event.getSender() === client.getUserId() || event.getType() !== "m.room.message") return;
            if (event.isRelation("m.replace")) return; // an edit is not a new message
            const open = live.current.where.view === "room" && live.current.where.roomId === room.roomId;
            const urgent = addressedToMe(client, room, event)
                && urgentTitle(event, client.getUserId(), (id) => displayName(client, id, live.current.directory));
            if (urgent) {
                // Urgent messages and their repeat alerts notify even in the open conversation.
                if (!firstAnnouncement(event.getId())) return;
                messageSound();
                notify(urgent, "Open the messenger to read it", `${room.roomId}:${event.getId()}`);
            } else if (addressedToMe(client, room, event) && (!open || document.visibilityState !== "visible")) {
                if (!firstAnnouncement(event.getId())) return;
                messageSound();
                notify(`New message from ${displayName(client, event.getSender(), live.current.directory)}`,
                    isChannel(room) ? `In ${room.name}` : "Open the messenger to read it", room.roomId);
            }
        };
        const onMembership = (room, membership) => {
            if (membership === "invite") client.joinRoom(room.roomId).catch(() => {});
            bump();
        };
        const onLoggedOut = () => onSignedOut(true);
        // Every listener the app adds, so the cleanup removes exactly these.
        const listeners = [
            [ClientEvent.Sync, onSync],
            [RoomEvent.Timeline, onTimeline],
            [RoomEvent.MyMembership, onMembership],
            [HttpApiEvent.SessionLoggedOut, onLoggedOut],
            ...[RoomEvent.Receipt, RoomEvent.Name, RoomEvent.LocalEchoUpdated, RoomEvent.UnreadNotifications,
                RoomStateEvent.Events, RoomStateEvent.Members, RoomMemberEvent.Membership, UserEvent.Presence,
                RoomEvent.Redaction].map((name) => [name, bump]),
        ];
        for (const [name, handler] of listeners) client.on(name, handler);
        client.startClient({initialSyncLimit: 30});
        staffDirectory(client.getAccessToken())
            .then((answer) => setDirectory(new Map(answer.contacts.map((c) => [c.user_id, c]))))
            .catch(() => {});
        const onHash = () => {
            const next = route();
            setWhere(next);
            // Going anywhere but the conversation being opened drops the "opening" screen.
            const pending = live.current.opening;
            if (pending && !(pending.roomId && next.roomId === pending.roomId)) setOpening(null);
        };
        window.addEventListener("hashchange", onHash);
        return () => {
            for (const [name, handler] of listeners) client.off(name, handler);
            window.removeEventListener("hashchange", onHash);
            calls.dispose();
        };
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
        await clearEverything();
        onSignedOut(false);
    };
    const open = (roomId) => { location.hash = `#/room/${encodeURIComponent(roomId)}`; };
    const [problem, setProblem] = useState("");
    // The conversation with these people: the "opening" screen (composer disabled) until
    // the room exists and is shown, so nothing typed meanwhile goes to the previous one.
    const conversationWith = async (ids, what) => {
        const names = ids.map(nameOf).join(", ");
        const already = live.current.opening;
        if (already && !already.roomId && already.names === names) return null; // a second click
        const pending = {names};
        setOpening(pending);
        live.current.opening = pending;
        try {
            const roomId = await startConversation(client, ids);
            if (live.current.opening !== pending) return null; // she went elsewhere meanwhile
            const found = {...pending, roomId};
            live.current.opening = found;
            setOpening(found);
            open(roomId);
            return roomId;
        } catch (err) {
            setOpening(null);
            setProblem(`The ${what} could not be started: ${err?.data?.error || err?.message || "unknown error"}`);
            return null;
        }
    };
    const messageTo = (ids) => conversationWith(ids, "conversation");
    const callRoom = async (roomId) => {
        open(roomId);
        const room = client.getRoom(roomId) || await new Promise((resolve) => {
            const seen = (r) => { if (r.roomId === roomId) { client.off(ClientEvent.Room, seen); resolve(r); } };
            client.on(ClientEvent.Room, seen);
        });
        calls.place(room, false);
    };
    const callTo = async (id, video) => {
        const roomId = await conversationWith([id], "call");
        if (!roomId) return;
        const room = client.getRoom(roomId) || await new Promise((resolve) => {
            const seen = (r) => { if (r.roomId === roomId) { client.off(ClientEvent.Room, seen); resolve(r); } };
            client.on(ClientEvent.Room, seen);
        });
        calls.place(room, video);
    };

    const rooms = ready ? joinedRooms(client) : [];
    const recent = [...rooms].sort((a, b) => lastActivity(b) - lastActivity(a));
    const channels = rooms.filter(isChannel).sort((a, b) => a.name.localeCompare(b.name));
    const conversations = recent.filter((r) => !isChannel(r));
    const shown = where.view === "room" ? client.getRoom(where.roomId) : null;
    const waiting = opening && !(opening.roomId && shown && shown.roomId === opening.roomId);
    const room = waiting ? null : shown;
    const hasMain = where.view !== "home" || Boolean(opening) || Boolean(calls.active);

    let main;
    if (waiting) {
        main = html`<${OpeningConversation} names=${opening.names} />`;
    } else if (where.view === "settings") {
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
        // Keyed by room: switching conversations starts a fresh composer (no text carried over).
        main = html`<${Conversation} key=${room.roomId} client=${client} room=${room} nameOf=${nameOf}
            directory=${directory} calls=${calls} onBack=${() => { location.hash = ""; }} />`;
    } else if (where.view === "room") {
        main = html`<${OpeningConversation} />`;
    } else {
        main = html`<p class="cb-hint cb-welcome">Choose a conversation, a channel or a colleague on the left.</p>`;
    }

    return html`<${OfflineWatch} config=${config} unreachable=${unreachable}>
        <div class=${`cb-app${hasMain ? " has-main" : ""}`}>
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
            <${ActiveCall} calls=${calls} nameOf=${nameOf} />
            ${main}</main>
        <${IncomingCall} calls=${calls} nameOf=${nameOf} />
    </div><//>`;
}
