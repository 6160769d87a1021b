"""Reminder e-mails: composed from templates (plain text + HTML), sent over SMTP.

Templates live in `templates/email/` (a company may override them like any
other template); the HTML part is autoescaped, so no text from an SOP or a
case can become markup. A message's Message-ID is derived from its reminder
row, so a reminder sent again after a crash carries the same Message-ID and
mail clients show it once.
"""

from __future__ import annotations

import contextlib
import email.policy
import hashlib
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sopgen.cases.baseurl import desk_base_url
from sopgen.cases.errors import CaseError
from sopgen.model import Config, Smtp
from sopgen.render.environment import environment


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One composed e-mail."""

    recipient: str
    subject: str
    text: str
    html: str
    message_id: str


def case_link(config: Config, case_id: str) -> str | None:
    base = desk_base_url(None, config)
    return f"{base}/cases/{quote(case_id, safe='')}" if base else None


def compose(
    root: Path, kind: str, recipient: str, subject: str, key: str, values: dict[str, Any]
) -> Outgoing:
    """Render `email/{kind}.txt.j2` and `.html.j2` with `values`."""
    env = environment(root)
    values = {**values, "subject": subject}
    text = env.get_template(f"email/{kind}.txt.j2").render(values)
    html = env.get_template(f"email/{kind}.html.j2").render(values)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return Outgoing(recipient, subject, text.strip() + "\n", html, f"<{digest}@sopgen.remind>")


def message(outgoing: Outgoing, sender: str, sent: datetime, zone: ZoneInfo) -> EmailMessage:
    """The e-mail as it goes out: headers made by the standard library's SMTP policy
    (RFC 5322 folding, CRLF line ends), dated `sent` in the company's zone with its
    real offset (`Mon, 23 Nov 2026 10:00:00 +0100`, not `-0000`)."""
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"] = sender
    mail["To"] = outgoing.recipient
    mail["Subject"] = outgoing.subject
    mail["Date"] = format_datetime(sent.astimezone(zone))
    mail["Message-ID"] = outgoing.message_id
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    mail.set_content(outgoing.text)
    mail.add_alternative(outgoing.html, subtype="html")
    return mail


def valid_address(text: str) -> bool:
    """A plain check that `text` is one address someone could receive mail at."""
    _name, address = parseaddr(text)
    if not address or "@" not in address or any(c.isspace() for c in address):
        return False
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return True


class Mailer:
    """One SMTP connection, opened on the first message and kept for the rest."""

    def __init__(self, settings: Smtp, environ: dict[str, str] | None = None):
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)
        self._smtp: smtplib.SMTP | None = None

    def _password(self) -> str | None:
        name = self.settings.password_env
        if not name:
            return None
        value = self.environ.get(name)
        if value is None:
            raise CaseError(
                f"smtp.password_env names {name}, but that environment variable is not set",
                f"export {name}=… before starting sopgen remind (or remove password_env)",
            )
        return value

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        password = self._password()
        try:
            smtp: smtplib.SMTP
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise CaseError(
                f"cannot reach the mail server {s.host}:{s.port} ({s.security}): {exc}",
                "check smtp: in sopgen.yaml and that the server is up; unsent reminders "
                "stay queued and go out on the next run",
            ) from None
        return smtp

    def send(self, mail: EmailMessage) -> None:
        """Hand one message to the server; raises smtplib/OSError errors as they come."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(mail)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None
