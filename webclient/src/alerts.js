// Alerts that reach a person wherever she is in the app: a short sound (Web Audio, no
// media file), a browser notification that names the sender but never shows the message
// text (PHI stays off lock screens), and the unread count in the tab title.
let audio = null;

function tone(frequencies, seconds) {
    try {
        audio ||= new AudioContext();
        const start = audio.currentTime;
        frequencies.forEach((frequency, i) => {
            const osc = audio.createOscillator();
            const gain = audio.createGain();
            osc.frequency.value = frequency;
            gain.gain.setValueAtTime(0.15, start + i * seconds);
            gain.gain.exponentialRampToValueAtTime(0.001, start + (i + 1) * seconds);
            osc.connect(gain).connect(audio.destination);
            osc.start(start + i * seconds);
            osc.stop(start + (i + 1) * seconds);
        });
    } catch {
        // no audio output: the notification and the screen still tell her
    }
}

export const messageSound = () => tone([880, 660], 0.12);

let ringing = null;
export function startRinging() {
    if (ringing) return;
    tone([660, 880, 660, 880], 0.25);
    ringing = setInterval(() => tone([660, 880, 660, 880], 0.25), 2500);
    window.carebridgeRinging = true; // read by the browser tests
}
export function stopRinging() {
    clearInterval(ringing);
    ringing = null;
    window.carebridgeRinging = false;
}

const announced = new Set(); // event ids already announced (one notification per message)

/** True the first time a message's event id is seen here (one alert per message,
 * however often the SDK reports the event). */
export function firstAnnouncement(eventId) {
    if (!eventId || announced.has(eventId)) return false;
    announced.add(eventId);
    if (announced.size > 500) announced.delete(announced.values().next().value);
    return true;
}

export function notify(title, body, tag) {
    if (!("Notification" in window) || Notification.permission !== "granted") return null;
    try {
        return new Notification(title, {body, tag});
    } catch {
        return null;
    }
}

export async function askNotificationPermission() {
    if ("Notification" in window && Notification.permission === "default") {
        try {
            await Notification.requestPermission();
        } catch {
            // the browser refused to ask; nothing else to do
        }
    }
}

export function setTitle(organization, count) {
    document.title = count > 0 ? `(${count}) ${organization}` : organization;
}
