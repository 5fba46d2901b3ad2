#!/bin/bash
# First start of the postgres container only (docker-entrypoint-initdb.d): one role and one
# database each for Synapse (C collation, as Synapse requires) and Carebridge. Passwords come
# from docker secrets, exported by the service's command; they never appear in compose files.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v synapse_pw="$SYNAPSE_DB_PASSWORD" -v carebridge_pw="$CAREBRIDGE_DB_PASSWORD" <<'SQL'
CREATE ROLE synapse LOGIN PASSWORD :'synapse_pw';
CREATE DATABASE synapse OWNER synapse ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
CREATE ROLE carebridge LOGIN PASSWORD :'carebridge_pw';
CREATE DATABASE carebridge OWNER carebridge;
SQL
