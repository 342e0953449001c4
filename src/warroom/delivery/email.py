"""Email: updates for customers over SMTP with STARTTLS (the standard library's smtplib).

Who gets an email depends on the incident's severity when it is delivered, as the policy
says ("Customer communication": SEV1, all affected customers; SEV2, the directly affected;
SEV3, status page only): `recipients` maps a severity to its addresses. A severity with no
list gets no email; a delivery due then fails (permanently, in red) quoting the policy, so
an update meant for customers is never silently dropped. Recipients go in the envelope only
(`To: undisclosed-recipients:;`): customers never see each other's addresses.

The message: the update's text as posted; its first line `Subject: ...` (the customer-email
template's) is the subject, else `[Status] Title`. `Date` is the event's time and
`Message-ID` is made from the event id and the channel name, so every attempt sends the
same bytes; `References` threads an incident's emails in mail clients.

`find` always returns None, because an SMTP server cannot be asked whether it already took a
message. So an attempt whose outcome is unknown (the process died between the end of DATA
and the server's answer) is sent again: at least once, as the engine promises. The resend
is identical, with the same Message-ID, so mail systems and clients that drop duplicates by
Message-ID show it once; others may show a second copy.

Errors: a server that cannot be reached, does not answer in time, drops the connection or
answers 4xx retries; 5xx (authentication refused, sender or every recipient refused) and a
server without STARTTLS or with an untrusted certificate are permanent. When some recipients
are refused and others accepted the delivery counts as sent (a resend would repeat it to
those who have it), and the refused ones are named in `Delivered.extra["refused"]`.
The password (`password` or `password_env`) never appears in a `Request`, a reason or a log.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import Annotated, Literal, TypeVar

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator

from warroom.core.outbound import outbound
from warroom.core.policy import DEFAULT_POLICY, Policy
from warroom.core.text import one_line, slug
from warroom.delivery.channel import (
    REDACTED,
    Channel,
    Delivered,
    DeliveryError,
    Lifecycle,
    Outgoing,
    Request,
)
from warroom.delivery.common import Audience, ChannelConfig, EnvName, Seconds, one_secret, secret

log = logging.getLogger(__name__)

_ADDR = re.compile(r"^[^@\s<>,;:\"()\[\]\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$")
Host = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]-]+$")]
MAX_REFERENCES = 10
T = TypeVar("T")


def _address(value: str) -> str:
    if not _ADDR.fullmatch(value):
        raise ValueError(f"not an email address: {one_line(value, 80)!r}")
    return value


def _mailbox(value: str) -> str:
    """`ops@example.com` or `Example Status <status@example.com>`."""
    _, addr = parseaddr(value)
    if "\n" in value or "\r" in value or not addr:
        raise ValueError(f"not an email address: {one_line(value, 80)!r}")
    _address(addr)
    return value


class EmailConfig(ChannelConfig):
    """`[channels.NAME]` with `kind = "email"`."""

    model_config = ChannelConfig.model_config | {"populate_by_name": True}

    kind: Literal["email"] = "email"
    smtp_host: Host
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    username: Annotated[str, Field(min_length=1, max_length=320)] | None = None
    password: SecretStr | None = None
    password_env: EnvName | None = None
    sender: str = Field(alias="from")
    """The From header: `status@example.com` or `Example Status <status@example.com>`."""
    reply_to: str | None = None
    recipients: dict[str, list[str]]
    """Addresses per severity: `SEV1 = [...]` (all affected customers), `SEV2 = [...]`
    (the directly affected), as the policy's customer communication says."""
    audiences: list[Audience] = ["customers"]
    on: list[Lifecycle] = []
    ca_file: FilePath | None = None
    """Trust this CA bundle instead of the system's (a company CA, a test server)."""
    timeout: Seconds = 20.0
    message_id_domain: Host | None = None
    """The right-hand side of Message-IDs (default: the From address's domain)."""
    pace: Annotated[float, Field(ge=0, le=60)] = 0.0

    @field_validator("sender", "reply_to")
    @classmethod
    def _mailboxes(cls, value: str | None) -> str | None:
        return None if value is None else _mailbox(value)

    @field_validator("recipients")
    @classmethod
    def _lists(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for severity, addresses in value.items():
            key = severity.strip().upper()
            if not re.fullmatch(r"SEV[1-9]", key):
                raise ValueError(f"{severity!r}: name a severity like SEV1")
            if not addresses:
                raise ValueError(f"{key}: an empty list (leave the severity out instead)")
            out[key] = [_address(a.strip()) for a in addresses]
        if not out:
            raise ValueError("give the addresses for at least one severity (SEV1 = [...])")
        return out

    @model_validator(mode="after")
    def _complete(self) -> EmailConfig:
        one_secret(self.password, self.password_env, "password", required=False)
        if (self.password is not None or self.password_env) and not self.username:
            raise ValueError("a password needs a username")
        return self


CONFIG = EmailConfig


class EmailChannel(Channel):
    kind = "email"

    def __init__(self, name: str, config: EmailConfig, *, policy: Policy = DEFAULT_POLICY) -> None:
        super().__init__(
            name, audiences=frozenset(config.audiences), on=frozenset(config.on), pace=config.pace
        )
        self.config = config
        self.policy = policy
        self.envelope_from = parseaddr(config.sender)[1]
        self.domain = config.message_id_domain or self.envelope_from.rpartition("@")[2]
        self._last_error = ""

    # -- the contract ------------------------------------------------------------------

    def requests(self, out: Outgoing) -> list[Request]:
        """The SMTP transaction: envelope in the headers, the message as sent in the body;
        nothing when the severity has no recipients (then `send` fails and says why)."""
        try:
            recipients = self.recipients(out)
        except DeliveryError:
            return []
        headers = {"STARTTLS": "required", "MAIL FROM": self.envelope_from}
        if self.config.username:
            headers["AUTH"] = f"{self.config.username} {REDACTED}"
        headers["RCPT TO"] = ", ".join(recipients)
        url = f"smtp://{self.config.smtp_host}:{self.config.smtp_port}"
        return [Request("SMTP", url, headers, self.message(out).as_bytes().decode("ascii"))]

    def send(self, out: Outgoing) -> Delivered:
        try:
            recipients = self.recipients(out)
            message = self.message(out)
            refused = self._transmit(message, recipients)
        except DeliveryError as exc:
            self._last_error = exc.reason
            raise
        extra = {"recipients": str(len(recipients) - len(refused))}
        if refused:
            extra["refused"] = _refusals(refused)
            log.warning("channel %s: some recipients refused: %s", self.name, extra["refused"])
        return Delivered(out.event.id, ref=str(message["Message-ID"]), extra=extra)

    def find(self, out: Outgoing) -> Delivered | None:
        """None: SMTP cannot tell (see the module docstring: the resend is identical)."""
        return None

    def test(self) -> Delivered:
        """Connect, STARTTLS, log in and leave: checks everything but the recipients."""
        self._session(lambda smtp: None)
        return Delivered("test", ref=f"{self.config.smtp_host}:{self.config.smtp_port}")

    def health(self) -> str:
        if self.config.password_env:
            try:
                secret(self.name, None, self.config.password_env, "password")
            except DeliveryError as exc:
                return exc.reason
        return f"last failure: {self._last_error}" if self._last_error else "configured"

    # -- the message -------------------------------------------------------------------

    def recipients(self, out: Outgoing) -> list[str]:
        severity = out.incident.current_severity
        found = self.config.recipients.get(severity.upper())
        if found:
            return found
        try:
            policy = self.policy.severity(severity).customer_communication
            says = f"the policy for {severity}: {policy}"
        except ValueError:
            says = f"{severity} is not in the policy"
        raise DeliveryError(
            f"email {self.name}: no recipients for {severity} ({says}); "
            f"add recipients.{severity} to send it",
            retry=False,
        )

    def message_id(self, out: Outgoing) -> str:
        return f"<{out.event.id}.{slug(self.name, 60)}@{self.domain}>"

    def message(self, out: Outgoing) -> EmailMessage:
        subject, body = self._subject_and_body(out)
        msg = EmailMessage(policy=SMTP)
        msg["From"] = self.config.sender
        msg["To"] = "undisclosed-recipients:;"
        if self.config.reply_to:
            msg["Reply-To"] = self.config.reply_to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(out.event.time)
        msg["Message-ID"] = self.message_id(out)
        earlier = [d.ref for d in out.previous if d.ref.startswith("<") and d.ref.endswith(">")]
        if earlier:
            chain = earlier[:1] + earlier[1:][-(MAX_REFERENCES - 1) :]
            msg["In-Reply-To"] = earlier[-1]
            msg["References"] = " ".join(chain)
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Warroom-Event"] = out.event.id
        msg["X-Warroom-Incident"] = out.event.incident_id
        msg.set_content(body, charset="utf-8", cte="quoted-printable")  # 7-bit safe, readable
        return msg

    def _subject_and_body(self, out: Outgoing) -> tuple[str, str]:
        text = outbound(out.text).strip("\n")
        first, _, rest = text.partition("\n")
        if first.lower().startswith("subject:"):
            subject = first[len("subject:") :]
            text = rest.lstrip("\n")
        else:
            state = out.incident
            subject = f"[{state.current_status.title()}] {state.title.value or 'Incident'}"
        return one_line(outbound(subject), 200) or "Incident update", text + "\n"

    # -- SMTP --------------------------------------------------------------------------

    def _transmit(
        self, message: EmailMessage, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        def deliver(smtp: smtplib.SMTP) -> dict[str, tuple[int, bytes]]:
            return smtp.send_message(message, self.envelope_from, recipients)

        return self._session(deliver)

    def _session(self, work: Callable[[smtplib.SMTP], T]) -> T:
        config = self.config
        password = None
        if config.username:
            password = secret(self.name, config.password, config.password_env, "password")
        where = f"{config.smtp_host}:{config.smtp_port}"
        try:
            with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout) as smtp:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"email {self.name}: {where} does not offer STARTTLS; "
                        "refusing to send a password and addresses in clear",
                        retry=False,
                    )
                smtp.starttls(context=self._tls())
                smtp.ehlo()
                if config.username and password is not None:
                    smtp.login(config.username, password)
                return work(smtp)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            retry = any(400 <= code < 500 for code in codes)
            raise DeliveryError(
                f"email {self.name}: every recipient refused ({_refusals(exc.recipients)})",
                retry=retry,
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"email {self.name}: {where} refused the login "
                f"({exc.smtp_code} {_said(exc.smtp_error, password)}); check username/password",
                retry=exc.smtp_code == 454,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"email {self.name}: {where} answered {exc.smtp_code} "
                f"{_said(exc.smtp_error, password)}",
                retry=not 500 <= exc.smtp_code < 600,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"email {self.name}: {where}: {exc}", retry=False) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"email {self.name}: {where}'s certificate is not trusted "
                f"({one_line(exc.verify_message or str(exc), 120)}); set ca_file",
                retry=False,
            ) from None
        except ssl.SSLError as exc:
            raise DeliveryError(
                f"email {self.name}: TLS with {where} failed ({one_line(str(exc), 120)})",
                retry=False,
            ) from None
        except TimeoutError:
            raise DeliveryError(
                f"email {self.name}: {where} did not answer within {config.timeout:g}s",
                retry=True,
            ) from None
        except ConnectionRefusedError:
            raise DeliveryError(
                f"email {self.name}: {where} refused the connection", retry=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"email {self.name}: {where}: {_said(str(exc), password)}", retry=True
            ) from None

    def _tls(self) -> ssl.SSLContext:
        cafile = str(self.config.ca_file) if self.config.ca_file else None
        return ssl.create_default_context(cafile=cafile)


def _said(text: bytes | str, password: str | None) -> str:
    """What a server said, as one safe line (never the password, should it echo it)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    line = one_line(outbound(text), 160)
    return line.replace(password, REDACTED) if password else line


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    shown = [f"{one_line(address, 120)} {code}" for address, (code, _) in refused.items()]
    more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
    return ", ".join(shown[:3]) + more


def build(name: str, config: EmailConfig, *, policy: Policy | None = None) -> EmailChannel:
    """The registry's factory: a channel from its validated config (`policy`: the team's)."""
    return EmailChannel(name, config, policy=policy or DEFAULT_POLICY)


from_config = build
