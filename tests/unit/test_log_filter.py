"""The Synapse log filter: typed sign-in identifiers and request URIs never reach a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from policy.module.log_filter import WITHHELD, PhiLogFilter
from provisioning.ops.templates import render


class FakeRequest:
    """Quacks like Synapse's SynapseRequest for the filter (method, redacted URI)."""

    def get_method(self) -> str:
        return "POST"

    def get_redacted_uri(self) -> str:
        return "/_matrix/media/v3/upload?filename=jane-doe-wound.png"

    def __repr__(self) -> str:
        return f"<SynapseRequest uri='{self.get_redacted_uri()}'>"


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("synapse.test", logging.INFO, __file__, 1, msg, args, None)


def test_sign_in_identifier_is_withheld() -> None:
    """The login lines keep their text, without what the person typed."""
    for msg in (
        "Got login request with identifier: %r, medium: %r, address: %r, user: %r",
        "Attempted to login as %s but they do not exist",
        "unknown 3pid identifier medium %s, address %r",
    ):
        record = _record(msg, "Secret-Password-1!", None, None, None)
        assert PhiLogFilter().filter(record)
        shown = record.getMessage()
        assert "Secret-Password" not in shown and WITHHELD in shown


def test_request_uri_file_names_are_withheld() -> None:
    """A refused request's line keeps method and path, not the query or a media file name."""
    record = _record("%s SynapseError: %s - %s", FakeRequest(), 403, "Not allowed")
    assert PhiLogFilter().filter(record)
    shown = record.getMessage()
    assert "jane-doe" not in shown
    assert "POST /_matrix/media/v3/upload?" in shown and "403" in shown
    plain = _record("GET /_matrix/client/v1/media/download/hs/abc/jane-doe.pdf done")
    PhiLogFilter().filter(plain)
    assert "jane-doe" not in plain.getMessage() and "/download/hs/abc/" in plain.getMessage()


def test_other_records_are_unchanged() -> None:
    """Ordinary lines with ids pass as they were."""
    record = _record("persisted %s in %s", "$event", "!room:hs")
    assert PhiLogFilter().filter(record)
    assert record.getMessage() == "persisted $event in !room:hs"


@pytest.mark.parametrize("template", ["log.config.yaml.j2", "log.production.yaml.j2"])
def test_every_handler_of_every_log_config_has_the_filter(template: str, tmp_path: Path) -> None:
    """Both Synapse log configs `carebridge init` writes attach the filter to each handler,
    and the filter class they name is this one."""
    doc = yaml.safe_load(render(template, data_dir=str(tmp_path), log_level="INFO"))
    names = [
        name
        for name, spec in doc["filters"].items()
        if spec.get("()") == "policy.module.log_filter.PhiLogFilter"
    ]
    assert len(names) == 1
    for handler in doc["handlers"].values():
        assert names[0] in handler.get("filters", []), handler
