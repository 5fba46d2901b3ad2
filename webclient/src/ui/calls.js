// The incoming-call banner (top of the screen) and the call panel, which sits above the
// open conversation and never over the message box: remote picture or sound, her own
// picture (self-view, can be hidden), mute, camera, speaker choice where the browser
// lets a page choose the output device, full screen and hang up.
import {useEffect, useRef, useState} from "preact/hooks";
import {html} from "./html.js";

const CAN_CHOOSE_SPEAKER = typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;

function Stream({stream, kind, muted, label, sinkId, hidden}) {
    const ref = useRef(null);
    useEffect(() => {
        if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream || null;
    });
    useEffect(() => {
        if (CAN_CHOOSE_SPEAKER && ref.current && sinkId !== undefined && ref.current.sinkId !== sinkId) {
            ref.current.setSinkId(sinkId).catch(() => {});
        }
    }, [sinkId]);
    return kind === "video"
        ? html`<video ref=${ref} class=${label} autoplay playsinline muted=${muted} aria-label=${label} hidden=${hidden}></video>`
        : html`<audio ref=${ref} class=${label} autoplay muted=${muted}></audio>`;
}

/** The audio outputs she can choose (names are shown once the microphone is allowed). */
function useSpeakers(active) {
    const [speakers, setSpeakers] = useState([]);
    useEffect(() => {
        if (!active || !CAN_CHOOSE_SPEAKER || !navigator.mediaDevices?.enumerateDevices) return undefined;
        const read = () => navigator.mediaDevices.enumerateDevices()
            .then((all) => setSpeakers(all.filter((d) => d.kind === "audiooutput" && d.deviceId)))
            .catch(() => setSpeakers([]));
        read();
        navigator.mediaDevices.addEventListener?.("devicechange", read);
        return () => navigator.mediaDevices.removeEventListener?.("devicechange", read);
    }, [active]);
    return speakers;
}

function SpeakerChoice({calls, speakers}) {
    if (!speakers.length) return null;
    return html`<label class="cb-speaker">Speaker
        <select id="cb-speaker" value=${calls.speaker} onChange=${(e) => calls.chooseSpeaker(e.currentTarget.value)}>
            <option value="">This device's usual speaker</option>
            ${speakers.filter((d) => d.deviceId !== "default").map((d, i) => html`<option value=${d.deviceId}>
                ${d.label || `Speaker ${i + 1}`}</option>`)}
        </select></label>`;
}

export function IncomingCall({calls, nameOf}) {
    const call = calls.incoming;
    if (!call) return null;
    const who = nameOf(call.getOpponentMember()?.userId || "");
    const kind = call.type === "video" ? "video" : "audio";
    return html`<div class="cb-incoming" role="alertdialog" aria-labelledby="cb-incoming-title" data-kind=${kind}>
        <p id="cb-incoming-title"><strong>${who}</strong> is calling you (${kind} call)</p>
        <button class="cb-accept" onClick=${() => calls.accept()}>Accept</button>
        <button class="cb-decline" onClick=${() => calls.decline()}>Decline</button>
    </div>`;
}

export function ActiveCall({calls, nameOf}) {
    const call = calls.active;
    const box = useRef(null);
    const speakers = useSpeakers(Boolean(call));
    if (!call) {
        return calls.error
            ? html`<div class="cb-call-error" role="alert">${calls.error}
                  <button onClick=${() => { calls.error = ""; calls.changed(); }}>OK</button></div>`
            : null;
    }
    const who = nameOf(call.getOpponentMember()?.userId || call.invitee || "");
    const remote = call.getRemoteFeeds()[0];
    const local = call.getLocalFeeds()[0];
    const video = call.type === "video";
    const states = {connected: "Connected", ringing: "Ringing…", invite_sent: "Ringing…", connecting: "Connecting…",
        create_offer: "Calling…", create_answer: "Connecting…", wait_local_media: "Waiting for microphone…"};
    const fullScreen = () => box.current?.requestFullscreen?.();
    const muted = call.isMicrophoneMuted();
    const cameraOff = call.isLocalVideoMuted();
    return html`<section class="cb-call" ref=${box} aria-label=${`Call with ${who}`} data-state=${call.state}
            data-kind=${video ? "video" : "audio"}>
        <h2>${video ? "Video" : "Audio"} call with ${who}</h2>
        <p class="cb-call-state" role="status">${states[call.state] || call.state}</p>
        <div class="cb-call-media">
            <${Stream} stream=${remote?.stream} kind=${video ? "video" : "audio"} muted=${false} label="cb-remote"
                sinkId=${calls.speaker} />
            ${video ? html`<${Stream} stream=${local?.stream} kind="video" muted=${true} label="cb-local"
                hidden=${!calls.selfView} />` : null}
        </div>
        <div class="cb-call-controls">
            <button class="cb-mute" aria-pressed=${muted} onClick=${() => calls.toggleMute()}>
                ${muted ? "Unmute" : "Mute"}</button>
            ${video ? html`<button class="cb-camera" aria-pressed=${cameraOff} onClick=${() => calls.toggleCamera()}>
                ${cameraOff ? "Camera on" : "Camera off"}</button>
                <button class="cb-self-view" aria-pressed=${!calls.selfView} onClick=${() => calls.toggleSelfView()}>
                ${calls.selfView ? "Hide my picture" : "Show my picture"}</button>` : null}
            <${SpeakerChoice} calls=${calls} speakers=${speakers} />
            <button class="cb-fullscreen" onClick=${fullScreen}>Full screen</button>
            <button class="cb-hangup" onClick=${() => calls.hangUp()}>Hang up</button>
        </div>
    </section>`;
}
