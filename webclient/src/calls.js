// One-to-one audio and video calls with matrix-js-sdk's MatrixCall (m.call.* events, the
// VoIP Element's mobile apps speak, and the events the bridge's call log records).
// Calls are one-to-one: a conversation with more than two people is refused with the
// reason before anything is sent.
import {createNewMatrixCall} from "matrix-js-sdk";
import {notify, startRinging, stopRinging} from "./alerts.js";

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
        client.on("Call.incoming", (call) => this.ring(call));
    }

    changed() {
        window.carebridgeCall = this.active || this.incoming || null; // read by the browser tests
        this.onChange();
    }

    refusal(room) {
        if (!room) return "This conversation is not available.";
        // Service members (the Carebridge bot in a role room, or in a direct message it left a
        // notice in) are not people: Element leaves them out of the count too.
        const service = room.currentState.getStateEvents("io.element.functional_members", "")?.getContent()?.service_members || [];
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
            }
            this.changed();
        };
        call.on("state", update);
        call.on("hangup", update);
        call.on("feeds_changed", update);
        call.on("error", (err) => {
            this.error = err?.message || "The call failed.";
            update();
        });
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
        this.active = call;
        this.watch(call);
        this.changed();
        try {
            await (video ? call.placeVideoCall() : call.placeVoiceCall());
        } catch (err) {
            this.error = err?.message || "The call could not be started.";
            this.active = null;
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
        await call.answer();
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
        this.changed();
    }

    toggleMute() {
        const call = this.active;
        if (call) call.setMicrophoneMuted(!call.isMicrophoneMuted()).then(() => this.changed());
    }

    toggleCamera() {
        const call = this.active;
        if (call) call.setLocalVideoMuted(!call.isLocalVideoMuted()).then(() => this.changed());
    }
}
