// Open the room Hydrogen has just created, even when the homeserver was quick.
//
// Hydrogen 0.3.1 ("Open direct message", "Create room") creates a room under a
// local id (`local-…`) and swaps it for the real room id once the room arrives in
// sync. When sync delivers the room before Hydrogen has finished its own
// bookkeeping (usual against a nearby server), the local id is dropped without
// the swap, and the user lands on "You are currently not in local-….  Want to
// join it?" although the room exists and is in the room list. This remembers the
// room id of this tab's last successful createRoom and, only in exactly that
// situation, opens the real room.

const CREATE_ROOM_PATH = /\/_matrix\/client\/[^/]+\/createRoom(?:[?#]|$)/;

/**
 * @param platform Hydrogen's Platform (before any session is loaded: sessions copy `request`)
 * @param navigation Hydrogen's Navigation
 * @param {HTMLElement} container the element Hydrogen renders into
 */
export function openCreatedRooms(platform, navigation, container) {
    let created = null;
    const request = platform.request;
    platform.request = function carebridgeCreateRoomRequest(url, options) {
        const result = request(url, options);
        if (options && options.method === "POST" && typeof url === "string" && CREATE_ROOM_PATH.test(url)) {
            result.response().then(({status, body}) => {
                if (status === 200 && body && typeof body.room_id === "string") {
                    created = body.room_id;
                    rescue();
                }
            }, () => undefined);
        }
        return result;
    };

    function rescue() {
        const segment = navigation.path.get("room");
        const stranded = segment && typeof segment.value === "string" && segment.value.startsWith("local-");
        if (created && stranded && container.querySelector(".UnknownRoomView")) {
            const roomId = created;
            created = null;
            navigation.push("room", roomId);
        }
    }

    new MutationObserver(rescue).observe(container, {childList: true, subtree: true});
}
