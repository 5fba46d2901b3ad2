"""Initial-password delivery: SMTP through a real loopback server, or 0600 files."""

from __future__ import annotations

from pathlib import Path

from mautrix.types import UserID

from config.settings import Settings
from provisioning.org.delivery import Credential, deliver
from tests.harness.smtp import MailCatcher, password_from
from tests.harness.stack import free_port


def settings(tmp_path: Path, smtp: dict[str, object] | None = None) -> Settings:
    values: dict[str, object] = {"server_name": "x.example", "organization_name": "Clinic"}
    if smtp:
        values["smtp"] = smtp
    return Settings.model_validate(values).model_copy(update={"data_dir": tmp_path})


CRED = Credential(UserID("@ann:x.example"), "ann", "Ann Nurse", "ann@x.example", "Secret-Pass-123", "new")


async def test_without_smtp_each_password_goes_to_a_new_0600_file(tmp_path: Path) -> None:
    first = await deliver([CRED], settings(tmp_path))
    second = await deliver([CRED], settings(tmp_path))
    (_, path1), (_, path2) = first.files[0], second.files[0]
    assert path1 != path2, "a password file is written once, never overwritten"
    for path in (path1, path2):
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent == tmp_path / "initial-passwords" and path.parent.stat().st_mode & 0o777 == 0o700
        assert "Secret-Pass-123" in path.read_text() and "change it" in path.read_text().lower()
    assert "Secret" not in repr(first) and "Secret" not in repr(CRED)


async def test_smtp_mail_carries_password_and_login_url(tmp_path: Path) -> None:
    mail = MailCatcher()
    mail.start()
    try:
        smtp = {**mail.settings(), "login_url": "https://chat.clinic.example/"}
        report = await deliver([CRED], settings(tmp_path, smtp))
        assert report.emailed == [CRED.user_id] and report.files == []
        mail.wait_for(1)
        message = mail.to("ann@x.example")[0]
        assert message["From"] == "it@clinic.example" and "Clinic" in message["Subject"]
        assert password_from(message) == "Secret-Pass-123"
        assert "https://chat.clinic.example/" in message.get_content()
    finally:
        mail.stop()


async def test_unreachable_smtp_falls_back_to_files(tmp_path: Path) -> None:
    smtp = {"host": "127.0.0.1", "port": free_port(), "starttls": False}
    report = await deliver([CRED], settings(tmp_path, smtp))
    assert report.emailed == [] and len(report.files) == 1
    assert report.mail_failures and report.mail_failures[0][0] == CRED.user_id
