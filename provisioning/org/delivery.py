"""Getting an initial password to its owner: by mail (SMTP in carebridge.yaml, through
aiosmtplib), or, without SMTP or when a mail is refused, written once to a 0600 file under
<data dir>/initial-passwords/ for the administrator to hand over.

Passwords, names and addresses never reach a log line or the terminal; the report lists
user ids and file paths only.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

import aiosmtplib
from mautrix.types import UserID

from config.settings import Settings

log = logging.getLogger(__name__)
PASSWORD_DIR = "initial-passwords"  # noqa: S105 - a folder name, not a password
DeliveryReason = Literal["new", "reset", "reactivated"]


@dataclass(frozen=True)
class Credential:
    """An initial password for one person. Never log or print this object."""

    user_id: UserID
    username: str
    display_name: str
    email: str
    password: str = field(repr=False)
    reason: DeliveryReason = "new"


@dataclass
class DeliveryReport:
    """What happened to each password: mailed, or written to a file (and why)."""

    emailed: list[UserID] = field(default_factory=list)
    files: list[tuple[UserID, Path]] = field(default_factory=list)
    mail_failures: list[tuple[UserID, str]] = field(default_factory=list)

    def merge(self, other: DeliveryReport) -> None:
        """Add another report's entries to this one."""
        self.emailed += other.emailed
        self.files += other.files
        self.mail_failures += other.mail_failures


def login_url(settings: Settings) -> str:
    """Where staff sign in: smtp.login_url, else the web client, else the homeserver."""
    if settings.smtp is not None and settings.smtp.login_url:
        return settings.smtp.login_url
    if settings.web.enabled:
        return f"http://{settings.web.host}:{settings.web.port}/"
    return settings.synapse.public_url


def message_text(cred: Credential, settings: Settings) -> str:
    """The body of the mail (and of the password file)."""
    org = settings.organization_name
    opening = {
        "new": f"An account has been created for you on {org} secure messaging.",
        "reset": f"An administrator has reset your {org} secure messaging password. "
        "All your sessions were signed out.",
        "reactivated": f"Your {org} secure messaging account has been reactivated.",
    }[cred.reason]
    return (
        f"Hello {cred.display_name},\n\n"
        f"{opening}\n\n"
        f"  Sign in at: {login_url(settings)}\n"
        f"  Username:   {cred.username}\n"
        f"  Matrix id:  {cred.user_id}\n"
        f"  Password:   {cred.password}\n\n"
        "This is a one-time initial password: the web client asks you to choose your\n"
        "own as soon as you sign in (in another Matrix app, change it in its settings).\n"
        "Do not forward this message; nobody from IT will ever ask you for your password.\n"
    )


def compose(cred: Credential, settings: Settings) -> EmailMessage:
    """The mail for one credential."""
    assert settings.smtp is not None
    msg = EmailMessage()
    msg["From"] = settings.smtp.sender
    msg["To"] = cred.email
    subject = "Your new account" if cred.reason == "new" else "Your password was reset"
    msg["Subject"] = f"{settings.organization_name}: {subject}"
    msg.set_content(message_text(cred, settings))
    return msg


def password_dir(settings: Settings) -> Path:
    """Where passwords are written when they cannot be mailed."""
    return settings.data_dir / PASSWORD_DIR


def write_password_file(cred: Credential, settings: Settings) -> Path:
    """Write the message once, to a new 0600 file (never overwrites an older one)."""
    folder = password_dir(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(1000):
        suffix = "" if n == 0 else f"-{n}"
        path = folder / f"{cred.username}-{stamp}{suffix}.txt"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"To: {cred.email or '(no email on record)'}\n\n{message_text(cred, settings)}")
        return path
    raise RuntimeError("could not pick a new password file name")


def remove_superseded_password_files(settings: Settings, username: str, keep: set[Path]) -> list[Path]:
    """Delete `username`'s older initial-password files (their passwords no longer work
    once a new one is set); `keep` are the files just written. Returns what was removed."""
    pattern = re.compile(rf"^{re.escape(username)}-\d{{8}}T\d{{6}}Z(?:-\d+)?\.txt$")
    removed = []
    folder = password_dir(settings)
    for path in sorted(folder.glob(f"{username}-*.txt")) if folder.is_dir() else []:
        if pattern.match(path.name) and path not in keep:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _smtp_password(settings: Settings) -> str | None:
    assert settings.smtp is not None
    if settings.smtp.password_file is None:
        return None
    return settings.path(settings.smtp.password_file).read_text(encoding="utf-8").strip()


async def deliver(creds: Sequence[Credential], settings: Settings) -> DeliveryReport:
    """Mail every credential over one SMTP session; anything not mailed goes to a file."""
    report = DeliveryReport()
    pending = list(creds)
    if not pending:
        return report
    smtp_settings = settings.smtp
    if smtp_settings is not None and any(c.email for c in pending):
        try:
            client = aiosmtplib.SMTP(
                hostname=smtp_settings.host,
                port=smtp_settings.port,
                username=smtp_settings.username,
                password=_smtp_password(settings),
                use_tls=smtp_settings.use_tls,
                start_tls=smtp_settings.starttls,
            )
            async with client:
                for cred in [c for c in pending if c.email]:
                    try:
                        await client.send_message(compose(cred, settings))
                    except aiosmtplib.SMTPException as exc:
                        report.mail_failures.append((cred.user_id, type(exc).__name__))
                        log.warning("mail to %s refused (%s)", cred.user_id, type(exc).__name__)
                        continue
                    report.emailed.append(cred.user_id)
                    pending.remove(cred)
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.warning("SMTP server unavailable (%s); writing password files", type(exc).__name__)
            report.mail_failures += [(c.user_id, type(exc).__name__) for c in pending if c.email]
    for cred in pending:
        report.files.append((cred.user_id, write_password_file(cred, settings)))
    return report
