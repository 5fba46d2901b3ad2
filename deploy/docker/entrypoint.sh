#!/bin/sh
# Entry point of the Carebridge image. Runs as root only long enough to hand the writable
# volumes to the deployment's user (UID/GID from compose.env), then drops privileges:
# Synapse's /start.py switches to UID:GID itself, anything else runs through gosu.
set -eu
owner="${UID:-991}:${GID:-991}"
for dir in ${CAREBRIDGE_WRITABLE_DIRS:-}; do
    mkdir -p "$dir"
    chown "$owner" "$dir"
done
if [ "$(id -u)" != "0" ]; then
    exec "$@"
fi
case "${1:-}" in
    /start.py) exec "$@" ;;
    *) exec gosu "$owner" "$@" ;;
esac
