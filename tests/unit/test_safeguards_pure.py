"""The safeguard checks as pure functions: a healthy deployment's facts pass every row, each
gap fails exactly its own row with a reason, the JSON keeps its schema, the HTML page is
self-contained, and every test a row names exists."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bridge.compliance.safeguards.model import (
    DAY_MS,
    Account,
    ActivityFacts,
    ArchiveFacts,
    BackupFacts,
    Facts,
    KeyFacts,
    Result,
    VerifyFacts,
)
from bridge.compliance.safeguards.render import SCHEMA_VERSION, to_html, to_json_document, to_plain_summary
from bridge.compliance.safeguards.report import SAFEGUARDS, evaluate

NOW = 1_790_000_000_000
REPO = Path(__file__).resolve().parents[2]
HOMESERVER: dict[str, Any] = {
    "listeners": [{"port": 8008, "bind_addresses": ["127.0.0.1"], "resources": [{"names": ["client"]}]}],
    "federation_domain_whitelist": [],
    "trusted_key_servers": [],
    "allow_public_rooms_over_federation": False,
    "enable_registration": False,
    "allow_guest_access": False,
    "password_config": {
        "enabled": True,
        "policy": {
            "enabled": True,
            "minimum_length": 12,
            "require_digit": True,
            "require_symbol": True,
            "require_lowercase": True,
            "require_uppercase": True,
        },
    },
    "url_preview_enabled": False,
    "rc_login": {"failed_attempts": {"per_second": 0.17, "burst_count": 3}},
    "modules": [{"module": "policy.module.entry.CarebridgeModule", "config": {}}],
}
ADMIN = Account("@boss:x", in_directory=True, role="admin", active=True, created_ms=NOW, devices=1,
                ever_signed_in=True)  # fmt: skip
NURSE = Account("@nurse:x", in_directory=True, role="staff", active=True, created_ms=NOW - 30 * DAY_MS,
                devices=1, ever_signed_in=True)  # fmt: skip
GONE = Account("@gone:x", synapse_deactivated=True, in_directory=True, role="staff", active=False,
               created_ms=NOW - 90 * DAY_MS, devices=0, ever_signed_in=True)  # fmt: skip


def healthy(**changes: Any) -> Facts:
    facts = Facts(
        now_ms=NOW,
        organization="St <Example> Clinic",
        carebridge_version="0.1.0",
        synapse_version="1.163.2",
        settings={
            "public_url": "http://127.0.0.1:8008",
            "head_interval_hours": 24.0,
            "head_interval_minutes": None,
            "scheduler_enabled": True,
            "missing_alerts": True,
            "daily_summary_at": "07:30",
        },
        homeserver=HOMESERVER,
        registration={"namespaces": {"rooms": [{"exclusive": False, "regex": ".*"}]}},
        production=False,
        keys=KeyFacts(True, None, False, True, ("k1",), True),
        archive=ArchiveFacts(40, 40, ("k1",), NOW - 5000, {"compliance.sessions": 0}, 1, NOW - DAY_MS),
        verify=VerifyFacts(True, 40, (), True, 2, NOW - 3600_000),
        accounts=(ADMIN, NURSE, GONE),
        bot_user_id="@carebridge:x",
        admin_room_members=frozenset({"@carebridge:x", ADMIN.user_id}),
        backups=(BackupFacts(NOW - DAY_MS, False, True, True),),
        activity=ActivityFacts(NOW - 60_000, 2, NOW - DAY_MS, NOW - 3600_000, None, None, 1),
        live={"registration_open": False, "federation_served": False},
    )
    return replace(facts, **changes)


def results(facts: Facts, history: dict[str, int] | None = None) -> dict[str, tuple[Result, str]]:
    return {r.safeguard.id: (r.result, r.reason) for r in evaluate(facts, "x", history).rows}


def test_healthy_deployment_passes_every_row() -> None:
    """Every safeguard of the issue has a row, and all of them pass on healthy facts."""
    found = results(healthy())
    assert len(found) == len(SAFEGUARDS) >= 17
    assert {k: v for k, v in found.items() if v[0] is not Result.PASS} == {}


def hs(**changes: Any) -> dict[str, Any]:
    return {**HOMESERVER, **changes}


GAPS: dict[str, tuple[str, Any, str]] = {
    "registration enabled": ("authentication", {"homeserver": hs(enable_registration=True)}, "registration"),
    "staff with Synapse admin": (
        "access-control",
        {"accounts": (ADMIN, replace(NURSE, synapse_admin=True), GONE)},
        "@nurse:x",
    ),
    "no backup in 7 days": (
        "backup",
        {"backups": (BackupFacts(NOW - 8 * DAY_MS, False, True, True),)},
        "no backup in 7 days",
    ),
    "deactivated account with a live session": (
        "termination",
        {"accounts": (ADMIN, NURSE, replace(GONE, devices=1))},
        "@gone:x",
    ),
    "archive key inside a backup": (
        "emergency-access",
        {"backups": (BackupFacts(NOW - DAY_MS, True, True, True),)},
        "contain the archive key",
    ),
    "heads older than their interval": (
        "integrity-heads",
        {"verify": VerifyFacts(True, 40, (), True, 2, NOW - 25 * 3600_000)},
        "older than its interval 24 h",
    ),
    "admin not in the admins' room": (
        "activity-review",
        {"admin_room_members": frozenset({"@carebridge:x"})},
        "@boss:x",
    ),
    "federation enabled": (
        "no-federation",
        {"homeserver": hs(federation_domain_whitelist=None)},
        "federation",
    ),
    "URL previews on": ("no-outbound", {"homeserver": hs(url_preview_enabled=True)}, "url_preview_enabled"),
    "account on its initial password": (
        "password-management",
        {"accounts": (ADMIN, replace(NURSE, ever_signed_in=False), GONE)},
        "initial password",
    ),
    "weak password policy": (
        "password-management",
        {"homeserver": hs(password_config={"enabled": True, "policy": {"enabled": False}})},
        "policy is off",
    ),
    "sign-in limits lifted": (
        "authentication",
        {"homeserver": hs(rc_login={"failed_attempts": {"per_second": 1000, "burst_count": 1000}})},
        "failed_attempts",
    ),
    "guest access": ("unique-id", {"homeserver": hs(allow_guest_access=True)}, "guest"),
    "account outside the directory": (
        "unique-id",
        {"accounts": (ADMIN, NURSE, GONE, Account("@shared:x", devices=0))},
        "@shared:x",
    ),
    "scheduler off": (
        "automatic-logoff",
        {"settings": {**healthy().settings, "scheduler_enabled": False}},
        "shift",
    ),
    "chain broken": (
        "integrity-chain",
        {"verify": VerifyFacts(False, 9, ("removed at row 7",), True, 2, NOW - 60_000)},
        "removed at row 7",
    ),
    "world-readable key": (
        "encryption",
        {"keys": KeyFacts(True, None, False, False, ("k1",), True)},
        "readable",
    ),
    "rows under an unknown key": (
        "encryption",
        {"archive": replace(healthy().archive, key_ids_used=("k0", "k1"))},
        "k0",
    ),
    "plain HTTP off loopback": (
        "transmission-tls",
        {"settings": {**healthy().settings, "public_url": "http://chat.clinic.example"}},
        "plain HTTP",
    ),
    "running Synapse takes registrations": (
        "authentication",
        {"live": {"registration_open": True}},
        "running",
    ),
    "running Synapse federates": ("no-federation", {"live": {"federation_served": True}}, "running Synapse"),
    "module not loaded": ("login-monitoring", {"homeserver": hs(modules=[])}, "not loaded"),
    "room namespace narrowed": (
        "audit-controls",
        {"registration": {"namespaces": {"rooms": [{"exclusive": True, "regex": "!x.*"}]}}},
        "every room",
    ),
}


@pytest.mark.parametrize("gap", sorted(GAPS))
def test_each_gap_fails_exactly_its_row(gap: str) -> None:
    """A deployment with one gap fails that safeguard's row, naming the gap, and no other."""
    row_id, changes, words = GAPS[gap]
    found = results(healthy(**changes))
    failing = {k: reason for k, (result, reason) in found.items() if result is not Result.PASS}
    assert list(failing) == [row_id], failing
    assert found[row_id][0] is Result.FAIL
    assert words in failing[row_id]


def test_unreadable_facts_warn_and_last_true_comes_from_data_or_history() -> None:
    """A fact group that cannot be read is a warning naming why, never a pass; a failing row
    says when it was last true (from the data, else from the last passing report)."""
    facts = healthy(accounts=None, unreadable={"accounts": "SynapseUnavailable"})
    found = results(facts)
    assert found["access-control"] == (Result.WARN, "could not list accounts (SynapseUnavailable)")
    backups = (BackupFacts(NOW - 9 * DAY_MS, False, True, True),)
    rows = {r.safeguard.id: r for r in evaluate(healthy(backups=backups), "x", {"backup": NOW - 5}).rows}
    assert rows["backup"].last_true_ms == NOW - 5  # history is newer than newest backup + 7 days
    rows = {r.safeguard.id: r for r in evaluate(healthy(backups=backups), "x").rows}
    assert rows["backup"].last_true_ms == NOW - 9 * DAY_MS + 7 * DAY_MS
    assert rows["access-control"].last_true_ms == NOW
    rows = {r.safeguard.id: r for r in evaluate(healthy(homeserver=hs(enable_registration=True)), "x").rows}
    assert rows["authentication"].last_true_ms is None


def test_json_has_the_documented_schema() -> None:
    """`--format json`: the keys and types docs/admin/compliance-report.md documents."""
    doc = json.loads(json.dumps(to_json_document(evaluate(healthy(), "x"))))
    assert doc["schema"] == "carebridge-compliance-report" and doc["schema_version"] == SCHEMA_VERSION == 1
    assert set(doc) == {"schema", "schema_version", "organization", "server_name", "generated_at",
                        "versions", "summary", "rows"}  # fmt: skip
    assert doc["versions"] == {"carebridge": "0.1.0", "synapse": "1.163.2"}
    assert doc["summary"] == {"result": "pass", "pass": len(SAFEGUARDS), "warn": 0, "fail": 0,
                              "text": f"All safeguards pass: {len(SAFEGUARDS)} pass, 0 warn, 0 fail of "
                              f"{len(SAFEGUARDS)}."}  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["generated_at"])
    for row in doc["rows"]:
        assert set(row) == {"id", "citation", "title", "does", "check", "result", "reason",
                            "checked_at", "last_true_at", "tests"}  # fmt: skip
        assert row["result"] in ("pass", "warn", "fail") and row["tests"]
    assert [r["id"] for r in doc["rows"]] == [s.id for s in SAFEGUARDS]


def test_html_is_self_contained_escaped_and_summarised() -> None:
    """One page with the organisation, the date, both versions and the summary first, and no
    reference to anything outside the page (no src, no link, no url(), no script)."""
    report = evaluate(healthy(homeserver=hs(url_preview_enabled=True)), "x")
    page = to_html(report)
    assert "St &lt;Example&gt; Clinic" in page and "<Example>" not in page
    assert "Carebridge 0.1.0" in page and "Synapse 1.163.2" in page
    assert "<code>carebridge export</code>" in page
    assert page.index('id="summary"') < page.index("<table>")
    assert "1 fail" in page and 'id="row-no-outbound" data-result="fail"' in page
    assert not re.search(r"(?i)\bsrc\s*=|<link|<script|@import|url\(|https?://", page)
    plain = to_plain_summary(report)
    assert "FAIL 164.312(e)(1) No outbound requests chosen by clients" in plain
    assert "PASS" not in plain


def _test_functions() -> set[str]:
    names = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        rel = path.relative_to(REPO).as_posix()
        names |= {
            f"{rel}::{n.name}" for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
    return names


def test_every_named_test_exists() -> None:
    """The report cites only tests that exist in this repository (file::function)."""
    existing = _test_functions()
    cited = {t for s in SAFEGUARDS for t in s.tests}
    assert cited and cited <= existing, sorted(cited - existing)


def test_docs_map_every_row_to_its_check_and_tests() -> None:
    """docs/admin/compliance-report.md names every row, its live check and its tests."""
    text = (REPO / "docs" / "admin" / "compliance-report.md").read_text()
    for s in SAFEGUARDS:
        assert f"`{s.id}`" in text and s.check in text, s.id
        assert all(f"`{t}`" in text for t in s.tests), s.id
    assert '"schema_version": 1' in text
