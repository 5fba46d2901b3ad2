// Authenticated media (Matrix 1.11 /_matrix/client/v1/media): every download carries the
// access token in the Authorization header and is shown through a blob: URL, so pictures
// already in a conversation still display after a reload.
const cache = new Map(); // key -> Promise<string blob url>

/** Forget every picture and file fetched so far (signing out): revoke their blob: URLs. */
export function forgetMedia() {
    for (const pending of cache.values()) pending.then((url) => URL.revokeObjectURL(url), () => {});
    cache.clear();
}

function mxcParts(mxc) {
    const found = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(mxc || "");
    return found ? {server: found[1], mediaId: found[2]} : null;
}

export function mediaUrl(client, mxc, thumbnail) {
    const parts = mxcParts(mxc);
    if (!parts) return null;
    const base = `${client.baseUrl}/_matrix/client/v1/media`;
    const path = `${encodeURIComponent(parts.server)}/${encodeURIComponent(parts.mediaId)}`;
    return thumbnail
        ? `${base}/thumbnail/${path}?width=${thumbnail}&height=${thumbnail}&method=scale`
        : `${base}/download/${path}`;
}

export function blobUrl(client, mxc, thumbnail) {
    const url = mediaUrl(client, mxc, thumbnail);
    if (!url) return Promise.reject(new Error("not a media address"));
    if (!cache.has(url)) {
        const pending = fetch(url, {headers: {Authorization: `Bearer ${client.getAccessToken()}`}})
            .then((answer) => {
                if (!answer.ok) throw new Error(`media answered ${answer.status}`);
                return answer.blob();
            })
            .then((blob) => URL.createObjectURL(blob));
        pending.catch(() => cache.delete(url));
        cache.set(url, pending);
    }
    return cache.get(url);
}

export async function download(client, mxc, name) {
    const href = await blobUrl(client, mxc);
    const link = document.createElement("a");
    link.href = href;
    link.download = name || "file";
    document.body.append(link);
    link.click();
    link.remove();
}

async function imageSize(file) {
    try {
        const bitmap = await createImageBitmap(file);
        const size = {w: bitmap.width, h: bitmap.height};
        bitmap.close();
        return size;
    } catch {
        return null;
    }
}

/** Upload a file and send it as m.image or m.file; errors carry the server's words. */
export async function sendFile(client, roomId, file, relatesTo) {
    const uploaded = await client.uploadContent(file, {name: file.name, type: file.type || undefined});
    const isImage = /^image\//.test(file.type);
    const info = {mimetype: file.type || "application/octet-stream", size: file.size};
    if (isImage) {
        const size = await imageSize(file);
        if (size) Object.assign(info, size);
    }
    const content = {
        msgtype: isImage ? "m.image" : "m.file",
        body: file.name || (isImage ? "picture" : "file"),
        url: uploaded.content_uri,
        info,
    };
    if (relatesTo) content["m.relates_to"] = relatesTo;
    return client.sendMessage(roomId, content);
}
