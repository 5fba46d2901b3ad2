// Shown from "Message <name>" (or a call) until the conversation exists and is on
// screen: the composer is there but disabled, so nothing typed meanwhile can land in
// the conversation that was open before.
import {html} from "./html.js";

export function OpeningConversation({names}) {
    const title = names ? `Opening the conversation with ${names}…` : "Opening the conversation…";
    return html`<section class="cb-conversation cb-opening" aria-labelledby="cb-room-title" aria-busy="true">
        <header class="cb-room-header">
            <h2 id="cb-room-title" role="status">${title}</h2>
        </header>
        <p class="cb-hint cb-opening-hint">You can write as soon as it is open.</p>
        <div class="cb-composer">
            <label for="cb-compose" class="cb-visually-hidden">Message</label>
            <textarea id="cb-compose" rows="2" disabled placeholder="Wait: the conversation is being opened"></textarea>
            <button class="cb-send cb-primary" disabled>Send</button>
        </div>
    </section>`;
}
