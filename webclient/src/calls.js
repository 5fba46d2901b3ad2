// One-to-one audio and video calls with matrix-js-sdk's MatrixCall (m.call.* events, the
// VoIP Element's mobile apps speak, and the events the bridge's call log records).
// Calls are one-to-one: a conversation with more than two people is refused with the
// reason before anything is sent.
import {CallEvent, createNewMatrixCall} from "matrix-js-sdk";
import {CallErrorCode} from "matrix-js-sdk/lib/webrtc/call.js";
import {deviceHelp} from "./device-help.js";
import {CallEventHandlerEvent} from "matrix-js-sdk/lib/webrtc/callEventHandler.js";
import {notify, startRinging, stopRinging} from "./alerts.js";
import {serviceMembers} from "./rooms.js";

export const ONE_TO_ONE_ONLY =
    "Calls are one-to-one: this conversation has more than two people. Call a colleague from Contacts or from your conversation with them.";

export class CallManager {
    constructor(client, nameOf, onChange) {
        this.client = client;
        this.nameOf = nameOf;
        this.onChange = onChange;
        this.active = null;
        this.incoming = null;
        this.error = "";
        this.notification = null;
        this.selfView = true; // her own camera picture in a video call
        this.speaker = ""; // the chosen audio output (sinkId); "" is the browser's default
        this.onIncoming = (call) => this.ring(call);
        this.unwatchers = new Map(); // call -> removes that call's listeners
        client.on(CallEventHandlerEvent.Incoming, this.onIncoming);
    }

    /** Remove every listener this manager added (the app is being taken down). */
    dispose() {
        this.client.off(CallEventHandlerEvent.Incoming, this.onIncoming);
        for (const unwatch of [...this.unwatchers.values()]) unwatch();
        stopRinging();
    }

    changed() {
        window.carebridgeCall = this.active || this.incoming || null; // read by the browser tests
        this.onChange();
    }

    refusal(room) {
        if (!room) return "This conversation is not available.";
        // Service members (the Carebridge bot in a role room, or in a direct message it left a
        // notice in) are not people: Element leaves them out of the count too.
        const service = serviceMembers(room);
        const people = room.getMembers().filter((m) => ["join", "invite"].includes(m.membership) && !service.includes(m.userId)).length;
        return people > 2 ? ONE_TO_ONE_ONLY : "";
    }

    watch(call) {
        const update = () => {
            if (call.state === "ended") {
                if (this.active === call) this.active = null;
                if (this.incoming === call) {
                    this.incoming = null;
                    stopRinging();
                    this.notification?.close();
                }
                this.unwatchers.get(call)?.();
            }
            this.changed();
        };
        const failed = (err) => {
            this.error = this.words(err, call.carebridgeVideo ?? call.type === "video");
            update();
        };
        call.on(CallEvent.State, update);
        call.on(CallEvent.Hangup, update);
        call.on(CallEvent.FeedsChanged, update);
        call.on(CallEvent.Error, failed);
        this.unwatchers.set(call, () => {
            call.off(CallEvent.State, update);
            call.off(CallEvent.Hangup, update);
            call.off(CallEvent.FeedsChanged, update);
            call.off(CallEvent.Error, failed);
            this.unwatchers.delete(call);
        });
    }

    /** What to tell her about a call error: plain instructions when the microphone or
     * camera could not be used, never an exception's own text. */
    words(err, video) {
        if (err instanceof DOMException) return deviceHelp(err, video);
        if (err?.code === CallErrorCode.NoUserMedia) {
            // The SDK keeps the browser's error only in its message ("...: NotFoundError: ...").
            const named = /\b(?:NotAllowed|NotFound|NotReadable|Overconstrained|Abort|Security)Error\b/
                .exec(String(err.message || ""));
            return deviceHelp(named ? named[0] : "NotAllowedError", video);
        }
        return "The call could not be connected. Check the connection, then Call again.";
    }

    async place(room, video) {
        this.error = this.refusal(room);
        if (this.error || this.active) {
            this.changed();
            return;
        }
        const call = createNewMatrixCall(this.client, room.roomId);
        if (!call) {
            this.error = "This browser cannot make calls.";
            this.changed();
            return;
        }
        call.carebridgeVideo = video; // the SDK knows the kind only once it has the camera
        this.active = call;
        this.watch(call);
        this.changed();
        try {
            await (video ? call.placeVideoCall() : call.placeVoiceCall());
        } catch (err) {
            this.error = this.words(err, video);
            this.active = null;
            this.unwatchers.get(call)?.();
        }
        this.changed();
    }

    ring(call) {
        if (this.active || this.incoming) {
            call.reject();
            return;
        }
        this.incoming = call;
        this.watch(call);
        startRinging();
        const who = this.nameOf(call.getOpponentMember()?.userId || "");
        const kind = call.type === "video" ? "video" : "audio";
        this.notification = notify(`Incoming ${kind} call`, `${who} is calling you`, "carebridge-call");
        this.changed();
    }

    async accept() {
        const call = this.incoming;
        if (!call) return;
        stopRinging();
        this.notification?.close();
        this.incoming = null;
        this.active = call;
        this.changed();
        try {
            await call.answer();
        } catch (err) {
            this.error = this.words(err, call.type === "video");
        }
        this.changed();
    }

    decline() {
        const call = this.incoming;
        stopRinging();
        this.notification?.close();
        this.incoming = null;
        call?.reject();
        this.changed();
    }

    hangUp() {
        // matrix-js-sdk stops the camera 120 ms after "camera off" with a timer it does not
        // clear on hang-up (it then reads the stream the hang-up released); hang-up stops
        // every track anyway.
        if (this.active?.stopVideoTrackTimer) clearTimeout(this.active.stopVideoTrackTimer);
        this.active?.hangup("user_hangup", false);
        this.active = null;
        this.selfView = true;
        this.changed();
    }

    toggleMute() {
        const call = this.active;
        if (call) call.setMicrophoneMuted(!call.isMicrophoneMuted()).then(() => this.changed());
    }

    toggleSelfView() {
        this.selfView = !this.selfView;
        this.changed();
    }

    chooseSpeaker(deviceId) {
        this.speaker = deviceId;
        this.changed();
    }

    toggleCamera() {
        const call = this.active;
        if (call) call.setLocalVideoMuted(!call.isLocalVideoMuted()).then(() => this.changed());
    }
}
