// Emoji for the message box: the list (emoji.json, written at build time from the
// emojibase-data package: character, English name, group, search words) is fetched the
// first time the picker opens, never at sign-in; the ones she used last are kept in
// this browser (cleared at sign-out with everything else).
const RECENT_KEY = "carebridge.emoji.recent";
const RECENT_MAX = 16;
let loading = null;

/** {groups: [label, ...], emoji: [{char, name, group, words}]} */
export function loadEmoji() {
    loading ||= fetch("emoji.json")
        .then((answer) => {
            if (!answer.ok) throw new Error(`emoji.json answered ${answer.status}`);
            return answer.json();
        })
        .then((data) => ({
            groups: data.groups,
            emoji: data.emoji.map(([char, name, group, words]) => ({char, name, group, words: `${name} ${words}`.toLowerCase()})),
        }));
    loading.catch(() => { loading = null; });
    return loading;
}

/** Emoji whose name or search words contain every word typed. */
export function searchEmoji(list, term, limit = 64) {
    const words = term.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) return [];
    return list.filter((e) => words.every((w) => e.words.includes(w))).slice(0, limit);
}

export function recentEmoji() {
    try {
        const value = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]");
        return Array.isArray(value) ? value.filter((e) => typeof e === "string").slice(0, RECENT_MAX) : [];
    } catch {
        return [];
    }
}

export function rememberEmoji(char) {
    const next = [char, ...recentEmoji().filter((e) => e !== char)].slice(0, RECENT_MAX);
    try {
        localStorage.setItem(RECENT_KEY, JSON.stringify(next));
    } catch { /* storage full or disabled: the picker still works */ }
}
