// The incoming-call banner and the call window, shown over whatever screen is open.
import {useEffect, useRef} from "preact/hooks";
import {html} from "./html.js";

function Stream({stream, kind, muted, label}) {
    const ref = useRef(null);
    useEffect(() => {
        if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream || null;
    });
    return kind === "video"
        ? html`<video ref=${ref} class=${label} autoplay playsinline muted=${muted} aria-label=${label}></video>`
        : html`<audio ref=${ref} class=${label} autoplay muted=${muted}></audio>`;
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
            <${Stream} stream=${remote?.stream} kind=${video ? "video" : "audio"} muted=${false} label="cb-remote" />
            ${video ? html`<${Stream} stream=${local?.stream} kind="video" muted=${true} label="cb-local" />` : null}
        </div>
        <div class="cb-call-controls">
            <button class="cb-mute" aria-pressed=${muted} onClick=${() => calls.toggleMute()}>
                ${muted ? "Unmute" : "Mute"}</button>
            ${video ? html`<button class="cb-camera" aria-pressed=${cameraOff} onClick=${() => calls.toggleCamera()}>
                ${cameraOff ? "Camera on" : "Camera off"}</button>` : null}
            <button class="cb-fullscreen" onClick=${fullScreen}>Full screen</button>
            <button class="cb-hangup" onClick=${() => calls.hangUp()}>Hang up</button>
        </div>
    </section>`;
}
