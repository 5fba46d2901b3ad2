// The left panel's lists: Recent Activity, Channels and Messages (rooms with unread
// counts); Contacts is people.js.
import {html} from "./html.js";
import {unread} from "../rooms.js";

export const TABS = [["recent", "Recent Activity"], ["contacts", "Contacts"], ["channels", "Channels"], ["messages", "Messages"]];

export function RoomList({rooms, current, label}) {
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
