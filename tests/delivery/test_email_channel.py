"""Email: customer updates over a real SMTP server (aiosmtpd) with STARTTLS and AUTH."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.delivery.events import Incident
from tests.delivery.smtp_server import SMTPServer
from warroom.core.policy import DEFAULT_POLICY
from warroom.core.templates import DEFAULT_TEMPLATES
from warroom.delivery import email
from warroom.delivery.channel import REDACTED, DeliveryError
from warroom.delivery.email import EmailChannel, EmailConfig

ALL = ["all-customers@lists.example.com", "cto@bigcustomer.example"]
DIRECT = ["affected@lists.example.com"]


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SMTPServer]:
    server = SMTPServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_email(smtp: SMTPServer) -> Callable[..., EmailChannel]:
    def make(name: str = "customers", **keys: Any) -> EmailChannel:
        data: dict[str, Any] = {
            "kind": "email",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "username": smtp.username,
            "password": smtp.password,
            "from": "Example Status <status@example.com>",
            "reply_to": "support@example.com",
            "recipients": {"SEV1": ALL, "sev2": DIRECT},
            "ca_file": str(smtp.ca_file),
            "timeout": 5,
        }
        data.update(keys)
        config = EmailConfig.model_validate({k: v for k, v in data.items() if v is not None})
        return EmailChannel(name, config)

    return make


def _customer_email(incident: Incident, severity: str) -> Any:
    incident.declare("Checkout errors", severity)
    template = next(t for t in DEFAULT_TEMPLATES if t.key == "customer-email")
    assert template.only_for == ("SEV1", "SEV2")
    body = (
        "Subject: [Investigating] Checkout errors\n\n"
        "What happened: Checkout errors.\nImpact: payments fail for some — désolé 🙏\n"
        "We will follow up when the issue is resolved."
    )
    return incident.update(body, audience="customers", template="customer-email")


@pytest.mark.parametrize(("severity", "to"), [("SEV1", ALL), ("SEV2", DIRECT)])
def test_customer_email_goes_to_the_severitys_list_over_starttls(
    smtp: SMTPServer, make_email: Callable[..., EmailChannel], severity: str, to: list[str]
) -> None:
    channel = make_email()
    incident = Incident()
    update = _customer_email(incident, severity)
    out = incident.out(update)
    delivered = channel.send(out)

    [got] = smtp.received
    assert got.tls and got.login == smtp.username
    assert got.mail_from == "status@example.com"
    assert got.rcpt_tos == to
    msg = got.message
    assert msg["Subject"] == "[Investigating] Checkout errors"
    assert msg["From"] == "Example Status <status@example.com>"
    assert msg["Reply-To"] == "support@example.com"
    assert msg["To"] == "undisclosed-recipients:;"  # customers never see each other
    assert msg["Message-ID"] == f"<{update.id}.customers@example.com>" == delivered.ref
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Warroom-Event"] == update.id
    body = msg.get_content().replace("\r\n", "\n")
    assert body.startswith("What happened: Checkout errors.\n")
    assert "désolé 🙏" in body and "Subject:" not in body
    assert delivered.extra == {"recipients": str(len(to))}
    # the dry run is the same message, without the password
    [request] = channel.requests(out)
    assert request.body.encode() == got.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert request.headers["AUTH"] == f"{smtp.username} {REDACTED}"
    assert request.headers["RCPT TO"] == ", ".join(to)
    assert smtp.password not in str(request)


def test_later_emails_thread_under_the_first_and_resends_are_identical(
    smtp: SMTPServer, make_email: Callable[..., EmailChannel]
) -> None:
    channel = make_email()
    incident = Incident()
    first = channel.send(incident.out(_customer_email(incident, "SEV1")))
    resolved = incident.update("Resolved: payments work again.", audience="customers")
    out = incident.out(resolved, (first,))
    second = channel.send(out)
    again = channel.send(out)  # an attempt whose outcome was unknown, sent again
    assert channel.find(out) is None
    assert second.ref == again.ref
    msg = smtp.received[1].message
    assert msg["In-Reply-To"] == first.ref and msg["References"] == first.ref
    assert msg["Subject"] == "[Investigating] Checkout errors"
    assert smtp.received[1].data == smtp.received[2].data


def test_a_severity_without_recipients_fails_quoting_the_policy(
    smtp: SMTPServer, make_email: Callable[..., EmailChannel]
) -> None:
    channel = make_email()
    incident = Incident()
    out = incident.out(_customer_email(incident, "SEV3"))
    assert channel.requests(out) == []
    with pytest.raises(DeliveryError) as failed:
        channel.send(out)
    assert not failed.value.retry
    said = DEFAULT_POLICY.severity("SEV3").customer_communication
    assert f"no recipients for SEV3 (the policy for SEV3: {said})" in failed.value.reason
    assert smtp.received == []


def test_a_refused_login_is_permanent_and_keeps_the_password_secret(
    smtp: SMTPServer, make_email: Callable[..., EmailChannel]
) -> None:
    wrong = "not-the-password-9f8e"
    channel = make_email(password=wrong)
    incident = Incident()
    with pytest.raises(DeliveryError) as failed:
        channel.send(incident.out(_customer_email(incident, "SEV1")))
    assert not failed.value.retry
    assert "refused the login (535" in failed.value.reason
    assert wrong not in failed.value.reason and wrong not in channel.health()
    assert smtp.received == []


def test_a_server_that_is_down_is_retried(make_email: Callable[..., EmailChannel]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = make_email(smtp_port=port)
    incident = Incident()
    with pytest.raises(DeliveryError) as failed:
        channel.send(incident.out(_customer_email(incident, "SEV1")))
    assert failed.value.retry and "refused the connection" in failed.value.reason


@pytest.mark.parametrize(
    ("answers", "retry", "sent_to"),
    [
        ({ALL[0]: "550 5.1.1 No such user", ALL[1]: "550 5.1.1 No such user"}, False, None),
        ({ALL[0]: "450 4.2.1 Mailbox busy", ALL[1]: "550 5.1.1 No such user"}, True, None),
        ({ALL[1]: "550 5.1.1 No such user"}, None, [ALL[0]]),
    ],
    ids=["all-refused", "all-refused-some-temporarily", "one-refused"],
)
def test_refused_recipients(
    smtp: SMTPServer,
    make_email: Callable[..., EmailChannel],
    answers: dict[str, str],
    retry: bool | None,
    sent_to: list[str] | None,
) -> None:
    smtp.refuse.update(answers)
    channel = make_email()
    incident = Incident()
    out = incident.out(_customer_email(incident, "SEV1"))
    if sent_to is None:
        with pytest.raises(DeliveryError) as failed:
            channel.send(out)
        assert failed.value.retry is retry
        assert "every recipient refused" in failed.value.reason
        assert smtp.received == []
        return
    delivered = channel.send(out)
    assert [r.rcpt_tos for r in smtp.received] == [sent_to]
    assert delivered.extra == {"recipients": "1", "refused": f"{ALL[1]} 550"}


def test_a_temporary_refusal_of_the_message_is_retried(
    smtp: SMTPServer, make_email: Callable[..., EmailChannel]
) -> None:
    smtp.data_answer = "451 4.3.0 Try again later"
    incident = Incident()
    with pytest.raises(DeliveryError) as failed:
        make_email().send(incident.out(_customer_email(incident, "SEV1")))
    assert failed.value.retry and "answered 451" in failed.value.reason


def test_an_untrusted_certificate_is_permanent(
    smtp: SMTPServer, make_email: Callable[..., EmailChannel]
) -> None:
    incident = Incident()
    with pytest.raises(DeliveryError) as failed:
        make_email(ca_file=None).send(incident.out(_customer_email(incident, "SEV1")))
    assert not failed.value.retry and "certificate is not trusted" in failed.value.reason


def test_no_starttls_no_email(tmp_path: Path, make_email: Callable[..., EmailChannel]) -> None:
    plain = SMTPServer(tmp_path, starttls=False).start()
    try:
        channel = make_email(smtp_port=plain.port)
        incident = Incident()
        with pytest.raises(DeliveryError) as failed:
            channel.send(incident.out(_customer_email(incident, "SEV1")))
        assert not failed.value.retry and "does not offer STARTTLS" in failed.value.reason
        assert plain.received == []
    finally:
        plain.stop()


def test_channel_test_logs_in_and_sends_nothing(
    smtp: SMTPServer, make_email: Callable[..., EmailChannel]
) -> None:
    assert make_email().test().ref == f"127.0.0.1:{smtp.port}"
    assert smtp.received == []


def test_the_password_from_the_environment(
    smtp: SMTPServer, make_email: Callable[..., EmailChannel], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WARROOM_TEST_SMTP_PASSWORD", raising=False)
    channel = make_email(password=None, password_env="WARROOM_TEST_SMTP_PASSWORD")
    assert "WARROOM_TEST_SMTP_PASSWORD is not set" in channel.health()
    monkeypatch.setenv("WARROOM_TEST_SMTP_PASSWORD", smtp.password)
    incident = Incident()
    channel.send(incident.out(_customer_email(incident, "SEV2")))
    assert [r.rcpt_tos for r in smtp.received] == [DIRECT]


def _config(**keys: Any) -> EmailConfig:
    data: dict[str, Any] = {
        "kind": "email",
        "smtp_host": "smtp.example.com",
        "from": "status@example.com",
        "recipients": {"SEV1": ALL},
    }
    data.update(keys)
    return EmailConfig.model_validate({k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"recipients": {}}, "at least one severity"),
        ({"recipients": {"P0": ALL}}, "name a severity like SEV1"),
        ({"recipients": {"SEV1": ["not-an-address"]}}, "not an email address"),
        ({"recipients": {"SEV1": []}}, "an empty list"),
        ({"from": "status@example.com\r\nBcc: victim@example.com"}, "not an email address"),
        ({"password": "x"}, "a password needs a username"),
        ({"username": "u", "password": "x", "password_env": "P"}, "not both"),
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_host": "bad host"}, "smtp_host"),
        ({"ca_file": "/nonexistent/ca.pem"}, "ca_file"),
        ({"to": ALL}, "to"),
    ],
)
def test_a_bad_config_says_which_key(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as bad:
        _config(**keys)
    assert message in str(bad.value)


def test_the_registry_entry_points() -> None:
    channel = email.build(
        "customers", email.CONFIG.model_validate(_config().model_dump(by_alias=True))
    )
    assert (channel.kind, channel.audiences, channel.on) == (
        "email",
        frozenset({"customers"}),
        frozenset(),
    )
    assert channel.health() == "configured"
