// The emoji picker of the message box: a dialog with a search field, the emoji she used
// last, and the emoji by group. Keyboard: the arrow keys move in the grid, Enter or Space
// inserts, Escape closes (focus goes back to the smiley button). Every emoji button is
// named by its English name for screen readers. Reactions keep their own short list.
import {useEffect, useRef, useState} from "preact/hooks";
import {html} from "./html.js";
import {loadEmoji, recentEmoji, rememberEmoji, searchEmoji} from "../emoji.js";

const COLUMNS = 8;

function Grid({label, items, onPick, id}) {
    const [active, setActive] = useState(0);
    const box = useRef(null);
    useEffect(() => setActive(0), [items.length, items[0]?.char]);
    if (!items.length) return null;
    const move = (e) => {
        const step = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS}[e.key];
        let next = step === undefined ? null : active + step;
        if (e.key === "Home") next = 0;
        if (e.key === "End") next = items.length - 1;
        if (next === null || next < 0 || next >= items.length) return;
        e.preventDefault();
        setActive(next);
        box.current?.querySelectorAll("button")[next]?.focus();
    };
    return html`<div class="cb-emoji-grid" role="group" aria-label=${label} id=${id} ref=${box} onKeyDown=${move}>
        ${items.map((e, i) => html`<button type="button" class="cb-emoji-choice" tabindex=${i === active ? 0 : -1}
            aria-label=${e.name} title=${e.name} onClick=${() => onPick(e.char)}>${e.char}</button>`)}
    </div>`;
}

export function EmojiPicker({onPick, onClose}) {
    const [data, setData] = useState(null);
    const [failed, setFailed] = useState(false);
    const [term, setTerm] = useState("");
    const [group, setGroup] = useState(0);
    const [recent, setRecent] = useState(recentEmoji());
    const search = useRef(null);
    useEffect(() => {
        loadEmoji().then(setData, () => setFailed(true));
        search.current?.focus();
    }, []);
    const choose = (char) => {
        rememberEmoji(char);
        setRecent(recentEmoji());
        onPick(char);
    };
    const keyDown = (e) => {
        if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation();
            onClose();
        }
    };
    const byChar = new Map((data?.emoji || []).map((e) => [e.char, e]));
    const recentItems = recent.map((c) => byChar.get(c) || {char: c, name: c});
    const found = data && term.trim() ? searchEmoji(data.emoji, term) : null;
    return html`<div class="cb-emoji-picker" id="cb-emoji-picker" role="dialog" aria-label="Insert an emoji" onKeyDown=${keyDown}>
        <label for="cb-emoji-search" class="cb-visually-hidden">Search emoji by name</label>
        <input id="cb-emoji-search" type="search" ref=${search} placeholder="Search emoji, e.g. thumbs"
            autocomplete="off" value=${term} onInput=${(e) => setTerm(e.currentTarget.value)} />
        ${failed ? html`<p class="cb-hint" role="alert">The emoji could not be loaded. Check the connection and open this again.</p>` : null}
        ${!data && !failed ? html`<p class="cb-hint">Loading emoji…</p>` : null}
        ${found ? html`<p class="cb-hint cb-emoji-count" role="status">${found.length ? `${found.length} found` : "No emoji has that name."}</p>
            <${Grid} label="Search results" id="cb-emoji-results" items=${found} onPick=${choose} />` : null}
        ${data && !found ? html`
            ${recentItems.length ? html`<p class="cb-emoji-heading" id="cb-emoji-recent-title">Recently used</p>
                <${Grid} label="Recently used" id="cb-emoji-recent" items=${recentItems} onPick=${choose} />` : null}
            <div class="cb-emoji-groups" role="group" aria-label="Emoji groups">
                ${data.groups.map((label, i) => html`<button type="button" class="cb-emoji-group" aria-pressed=${group === i}
                    onClick=${() => setGroup(i)}>${label}</button>`)}
            </div>
            <${Grid} label=${data.groups[group]} id="cb-emoji-all" items=${data.emoji.filter((e) => e.group === group)} onPick=${choose} />` : null}
        <button type="button" class="cb-emoji-close" onClick=${onClose}>Close</button>
    </div>`;
}
