"""45 CFR 164.312(e)(1)-(2) transmission security: TLS, no federation, no outbound
requests chosen by clients. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bridge.compliance.safeguards.model import Facts, Result, Safeguard, Verdict

LOOPBACK = ("127.0.0.1", "::1", "localhost")

TLS = Safeguard(
    id="transmission-tls",
    citation="164.312(e)(1), (e)(2)(ii)",
    title="Transmission security: TLS",
    does="In production clients reach Carebridge only over HTTPS at the reverse proxy (Caddy); "
    "the embedded set-up listens on loopback only.",
    check="synapse.public_url in carebridge.yaml and Synapse's listeners in the homeserver "
    "configuration in force.",
    tests=(
        "tests/e2e/test_production_compose.py::test_init_production_needs_an_https_public_url",
        "tests/e2e/test_production_compose.py::test_caddyfile_is_valid_and_routes_only_to_compose_services",
    ),
)

FEDERATION = Safeguard(
    id="no-federation",
    citation="164.312(e)(1)",
    title="No federation",
    does="PHI stays on the organisation's server: federation with every other server is off.",
    check="homeserver.yaml in force: federation_domain_whitelist is empty, no federation "
    "listener, no trusted key servers, no public rooms over federation; the running Synapse "
    "does not answer the federation API.",
    tests=(
        "tests/unit/test_init.py::test_homeserver_is_the_compliance_baseline",
        "tests/unit/test_webclient_static.py::test_well_known_server_not_served_without_federation",
    ),
)

OUTBOUND = Safeguard(
    id="no-outbound",
    citation="164.312(e)(1)",
    title="No outbound requests chosen by clients",
    does="Synapse fetches nothing a client names: URL previews and identity-server look-ups are off.",
    check="homeserver.yaml in force: url_preview_enabled, default_identity_server, "
    "trusted_third_party_id_servers.",
    tests=("tests/unit/test_init.py::test_homeserver_is_the_compliance_baseline",),
)

SAFEGUARDS = (TLS, FEDERATION, OUTBOUND)


def _listeners(hs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = hs.get("listeners")
    return [x for x in value if isinstance(x, Mapping)] if isinstance(value, list) else []


def _resources(listener: Mapping[str, Any]) -> set[str]:
    names: set[str] = set()
    for resource in listener.get("resources") or []:
        if isinstance(resource, Mapping):
            names.update(str(n) for n in resource.get("names") or [])
    return names


def transmission_tls(f: Facts) -> Verdict:
    url = str(f.settings.get("public_url") or "")
    parts = urlsplit(url)
    if parts.scheme == "https":
        return Verdict(Result.PASS, f"clients use HTTPS ({parts.hostname}); TLS at the reverse proxy")
    if f.production:
        return Verdict(Result.FAIL, f"production set-up, but synapse.public_url is {parts.scheme}://")
    if f.homeserver is None:
        return Verdict(Result.WARN, f"could not read homeserver.yaml ({f.why('homeserver')})")
    binds = {str(b) for x in _listeners(f.homeserver) for b in x.get("bind_addresses") or ["0.0.0.0"]}  # noqa: S104
    if parts.hostname in LOOPBACK and binds <= set(LOOPBACK):
        return Verdict(Result.PASS, "embedded set-up: plain HTTP on loopback only")
    return Verdict(Result.FAIL, f"clients reach Synapse over plain HTTP at {parts.hostname}")


def no_federation(f: Facts) -> Verdict:
    hs = f.homeserver
    if hs is None:
        return Verdict(Result.WARN, f"could not read homeserver.yaml ({f.why('homeserver')})")
    found = []
    if hs.get("federation_domain_whitelist") != []:
        found.append("federation_domain_whitelist is not an empty list")
    if any("federation" in _resources(x) for x in _listeners(hs)):
        found.append("a listener serves the federation API")
    if hs.get("trusted_key_servers") != []:
        found.append("trusted_key_servers is not an empty list (absent means matrix.org)")
    if hs.get("allow_public_rooms_over_federation"):
        found.append("allow_public_rooms_over_federation is on")
    if f.live.get("federation_served"):
        found.append("the running Synapse answers the federation API")
    if found:
        return Verdict(Result.FAIL, "federation possible: " + "; ".join(found))
    served = "; running server refuses it" if "federation_served" in f.live else ""
    return Verdict(
        Result.PASS, f"federation off: empty whitelist, no federation listener, no key servers{served}"
    )


def no_outbound(f: Facts) -> Verdict:
    hs = f.homeserver
    if hs is None:
        return Verdict(Result.WARN, f"could not read homeserver.yaml ({f.why('homeserver')})")
    found = []
    if hs.get("url_preview_enabled"):
        found.append("url_preview_enabled is on (Synapse fetches links staff paste)")
    if hs.get("default_identity_server"):
        found.append("default_identity_server is set")
    if hs.get("trusted_third_party_id_servers"):
        found.append("trusted_third_party_id_servers is set")
    if found:
        return Verdict(Result.FAIL, "; ".join(found))
    return Verdict(Result.PASS, "URL previews off; no identity server")


CHECKS = {TLS.id: transmission_tls, FEDERATION.id: no_federation, OUTBOUND.id: no_outbound}
