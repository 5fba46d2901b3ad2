#!/bin/sh
# Entry point of the Carebridge image. Runs as root only long enough to hand the writable
# volumes to the deployment's user (UID/GID from compose.env), then drops privileges:
# Synapse's /start.py switches to UID:GID itself, anything else runs through gosu.
set -eu
# Everything the services write (Synapse's media store, the archive's media, databases on
# volumes) is 0600 / 0700, as under `carebridge up`.
umask 0077
owner="${UID:-991}:${GID:-991}"
for dir in ${CAREBRIDGE_WRITABLE_DIRS:-}; do
    mkdir -p "$dir"
    chown "$owner" "$dir"
    chmod 0700 "$dir"
done
if [ "$(id -u)" != "0" ]; then
    exec "$@"
fi
case "${1:-}" in
    /start.py) exec "$@" ;;
    *) exec gosu "$owner" "$@" ;;
esac
