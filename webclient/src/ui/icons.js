// Small line icons drawn here (no icon font, no emoji font needed), aria-hidden: every
// button that shows one has its own label.
import {html} from "./html.js";

function Icon({children}) {
    return html`<svg class="cb-icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"
        fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${children}</svg>`;
}

export const PhoneIcon = () => html`<${Icon}><path d="M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z" /><//>`;
export const VideoIcon = () => html`<${Icon}><rect x="2" y="6" width="13" height="12" rx="2" /><path d="M15 10l7-4v12l-7-4z" /><//>`;
export const ClipIcon = () => html`<${Icon}><path d="M20 11l-8.5 8.5a5 5 0 0 1-7-7L13 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L14 7" /><//>`;
export const ChatIcon = () => html`<${Icon}><path d="M4 4h16v12H9l-5 4z" /><//>`;
export const FileIcon = () => html`<${Icon}><path d="M6 2h8l5 5v15H6z" /><path d="M14 2v5h5" /><//>`;
export const SmileIcon = () => html`<${Icon}><circle cx="12" cy="12" r="9" /><path d="M8 14a4.5 4.5 0 0 0 8 0" /><path d="M9 9.5h.01M15 9.5h.01" /><//>`;
export const SpeakerIcon = () => html`<${Icon}><path d="M4 9h4l5-4v14l-5-4H4z" /><path d="M16 9a4 4 0 0 1 0 6" /><//>`;
