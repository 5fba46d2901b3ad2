// Plain words for a call that could not use the microphone or camera, for the browser
// she is in (never the exception's own text): what was wrong, and what to click.
export function browserName(userAgent = navigator.userAgent) {
    if (/Firefox\//.test(userAgent)) return "firefox";
    if (/Edg\//.test(userAgent)) return "edge";
    if (/Chrome\/|Chromium\//.test(userAgent)) return "chrome";
    if (/Safari\//.test(userAgent)) return "safari";
    return "other";
}

const ALLOW = {
    chrome: (device) => `Click the camera icon in the address bar, allow the ${device}, then Call again.`,
    edge: (device) => `Click the lock icon left of the address, set the ${device} to Allow, then Call again.`,
    firefox: (device) => `Click the crossed-out ${device} icon left of the address, remove \u201cBlocked\u201d, then Call again.`,
    safari: (device) => `Open Safari > Settings for this website, set the ${device} to Allow, then Call again.`,
    other: (device) => `Allow this site to use the ${device} in the browser's site settings, then Call again.`,
};

/** The words for a media error (a DOMException from getUserMedia, or its name). */
export function deviceHelp(error, video, browser = browserName()) {
    const name = typeof error === "string" ? error : error?.name;
    const device = video ? "microphone and camera" : "microphone";
    if (name === "NotFoundError" || name === "OverconstrainedError") {
        return `No ${video ? "camera or microphone" : "microphone"} was found. Plug in a headset${video ? " or camera" : ""}, or use another computer or your phone, then Call again.`;
    }
    if (name === "NotReadableError" || name === "AbortError") {
        return `The ${device} is busy: another program (for example another call) is using it. Close that program, then Call again.`;
    }
    if (name === "SecurityError" && !window.isSecureContext) {
        return "Calls need a secure (https) address for this messenger. Tell your IT department.";
    }
    return `This browser is not allowed to use the ${device}. ${ALLOW[browser](device)}`;
}
