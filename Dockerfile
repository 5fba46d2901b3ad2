# syntax=docker/dockerfile:1
# The Carebridge image: the official Synapse image with the Carebridge package installed, so
# Synapse can load `policy.module.entry.CarebridgeModule` and `carebridge bridge` runs the
# appservice. The same image runs Synapse's main process, its workers and the bridge.
# Nothing secret is baked in: configuration comes from the data directory written by
# `carebridge init --production` (mounted read-only at /data) and docker secrets.

# The staff web client (webclient/, matrix-js-sdk + Preact) is built with Node; skipped if absent.
FROM node:20-bookworm-slim AS webclient
COPY . /src
RUN mkdir -p /src/webclient/dist \
    && if [ -f /src/webclient/package-lock.json ]; then \
         cd /src/webclient && npm ci --no-audit --no-fund && npm run build; \
       fi

FROM matrixdotorg/synapse:v1.163.2
# pg_dump for `carebridge backup` on PostgreSQL; curl for healthchecks (already present).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md /src/
COPY bridge /src/bridge
COPY policy /src/policy
COPY provisioning /src/provisioning
COPY config /src/config
COPY synapse /src/synapse
# matrix-synapse is already installed at the pinned version; pip keeps it.
RUN pip install --no-cache-dir /src \
    && python -c "import policy.module.entry, bridge.service" \
    && mkdir -p /var/lib/synapse/media /var/lib/synapse/module-outbox \
        /var/lib/carebridge/archive-media /var/lib/carebridge/heads
COPY --from=webclient /src/webclient/dist /opt/carebridge/webclient
COPY deploy/docker/entrypoint.sh /usr/local/bin/carebridge-entrypoint
ENV CAREBRIDGE_TEMPLATES=/src/synapse
ENTRYPOINT ["carebridge-entrypoint"]
CMD ["/start.py", "run", "--config-path=/data/homeserver.yaml", "--config-path=/data/production.yaml"]
