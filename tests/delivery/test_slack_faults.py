"""Slack: 429, 5xx, hangs, refusals; an attempt whose outcome is unknown is never posted twice."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from tests.delivery.events import Incident
from tests.delivery.slack_fake import Fault, SlackFake
from warroom.delivery.channel import DeliveryError
from warroom.delivery.slack import SlackChannel


def _fails(channel: SlackChannel, out) -> DeliveryError:  # type: ignore[no-untyped-def]
    with pytest.raises(DeliveryError) as failed:
        channel.send(out)
    return failed.value


def test_429_is_retried_after_the_time_slack_asks(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    channel = make_slack()
    incident = Incident()
    out = incident.out(incident.declare())
    slack.fail("chat.postMessage", Fault.http(429, after=7))
    error = _fails(channel, out)
    assert (error.retry, error.after) == (True, 7.0)
    assert "rate limited (429), retry after 7s" in error.reason
    assert slack.posted(incidents_channel) == []
    channel.send(out)
    assert len(slack.posted(incidents_channel)) == 1
    # a 429 means nothing was taken: the retry does not look in the history first
    assert slack.calls_to("conversations.history") == []
    assert channel.pace == 1.0


@pytest.mark.parametrize("fault", [Fault.http(500), Fault.http(502), Fault.error("internal_error")])
def test_server_errors_retry_and_a_retry_looks_before_posting(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel], fault: Fault
) -> None:
    channel = make_slack()
    incident = Incident()
    out = incident.out(incident.declare())
    slack.fail("chat.postMessage", fault)
    assert _fails(channel, out).retry
    assert slack.posted(incidents_channel) == []
    delivered = channel.send(out)
    [posted] = slack.posted(incidents_channel)
    assert delivered.ref == posted["ts"]
    [looked] = slack.calls_to("conversations.history")
    assert looked.args["include_all_metadata"] == "1"


@pytest.mark.parametrize(
    "then",
    [Fault.http(500), Fault.hang(), Fault.error("fatal_error")],
    ids=["500", "hang", "fatal"],
)
def test_a_message_posted_before_the_answer_was_lost_is_not_posted_again(
    slack: SlackFake,
    incidents_channel: str,
    make_slack: Callable[..., SlackChannel],
    then: Fault,
) -> None:
    channel = make_slack(timeout=0.5)
    incident = Incident()
    root = channel.send(incident.out(incident.declare()))
    reply = incident.out(incident.update("Mitigated."), (root,))
    slack.fail("chat.postMessage", Fault.after_commit(then))
    error = _fails(channel, reply)
    assert error.retry
    if then.kind == "hang":
        assert "no answer within 0.5s" in error.reason
        slack.release()
    assert len(slack.posted(incidents_channel)) == 2  # it did get through

    again = channel.send(reply)
    messages = slack.posted(incidents_channel)
    assert len(messages) == 2
    assert again.ref == messages[1]["ts"] and again.extra["thread_ts"] == root.ref
    [looked] = slack.calls_to("conversations.replies")
    assert looked.args["ts"] == root.ref and looked.args["include_all_metadata"] == "1"


def test_a_hung_request_is_bounded_and_then_sent_once(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    channel = make_slack(timeout=0.5)
    incident = Incident()
    out = incident.out(incident.declare())
    slack.fail("chat.postMessage", Fault.hang())
    error = _fails(channel, out)
    assert error.retry and "no answer within 0.5s" in error.reason
    slack.release()
    channel.send(out)
    assert len(slack.posted(incidents_channel)) == 1


def test_find_after_a_crash_tells_posted_from_not_posted(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    incident = Incident()
    declared = incident.declare()
    root = make_slack().send(incident.out(declared))
    posted = incident.update("posted before the crash")
    make_slack().send(incident.out(posted, (root,)))
    lost = incident.update("never left")

    fresh = make_slack()  # a new process: it knows nothing of earlier attempts
    found_root = fresh.find(incident.out(declared))
    assert found_root is not None and found_root.ref == root.ref
    assert found_root.extra == root.extra
    found = fresh.find(incident.out(posted, (root,)))
    assert found is not None and found.ref == slack.posted(incidents_channel)[1]["ts"]
    assert fresh.find(incident.out(lost, (root,))) is None
    other = Incident()
    assert fresh.find(other.out(other.declare())) is None


def test_find_cannot_tell_when_slack_cannot_answer(
    slack: SlackFake, make_slack: Callable[..., SlackChannel]
) -> None:
    incident = Incident()
    out = incident.out(incident.declare())
    slack.fail("conversations.history", Fault.http(503))
    with pytest.raises(DeliveryError) as failed:
        make_slack().find(out)
    assert failed.value.retry


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("channel_not_found", "check `channel`"),
        ("not_in_channel", "/invite"),
        ("is_archived", "archived"),
        ("missing_scope", "chat:write"),
        ("invalid_blocks", ""),
        ("some_new_error", ""),
    ],
)
def test_refusals_are_permanent_and_say_what_to_fix(
    slack: SlackFake, make_slack: Callable[..., SlackChannel], code: str, hint: str
) -> None:
    channel = make_slack()
    incident = Incident()
    slack.fail("chat.postMessage", Fault.error(code))
    error = _fails(channel, incident.out(incident.declare()))
    assert not error.retry
    assert error.reason.startswith(f"slack chat.postMessage: {code}")
    assert hint in error.reason
    assert channel.health() == f"last failure: {error.reason}"


@pytest.mark.parametrize("code", ["ratelimited", "service_unavailable", "team_added_to_org"])
def test_slacks_transient_errors_retry(
    slack: SlackFake, make_slack: Callable[..., SlackChannel], code: str
) -> None:
    incident = Incident()
    slack.fail("chat.postMessage", Fault.error(code))
    assert _fails(make_slack(), incident.out(incident.declare())).retry


def test_a_wrong_token_is_permanent_and_never_shown(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    wrong = "xoxb-wrong-0000-supersecret"
    channel = make_slack(token=wrong)
    incident = Incident()
    error = _fails(channel, incident.out(incident.declare()))
    assert not error.retry and "invalid_auth" in error.reason
    assert wrong not in error.reason and wrong not in channel.health()
    assert slack.posted(incidents_channel) == []


def test_a_missing_token_variable_is_named_and_the_dry_run_still_works(
    slack: SlackFake, make_slack: Callable[..., SlackChannel], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WARROOM_TEST_SLACK_TOKEN", raising=False)
    channel = make_slack(token=None, token_env="WARROOM_TEST_SLACK_TOKEN")
    incident = Incident()
    out = incident.out(incident.declare())
    assert channel.requests(out)
    assert "WARROOM_TEST_SLACK_TOKEN is not set" in channel.health()
    error = _fails(channel, out)
    assert (
        not error.retry
        and "token_env: environment variable WARROOM_TEST_SLACK_TOKEN" in error.reason
    )

    monkeypatch.setenv("WARROOM_TEST_SLACK_TOKEN", slack.token)
    assert make_slack(token=None, token_env="WARROOM_TEST_SLACK_TOKEN").send(out).ref


def test_an_unreachable_slack_retries_without_looking_first(
    make_slack: Callable[..., SlackChannel],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = make_slack(api_url=f"http://127.0.0.1:{port}/api/")
    incident = Incident()
    out = incident.out(incident.declare())
    error = _fails(channel, out)
    assert error.retry and "connection refused" in error.reason
    assert not channel._unknown  # refused: surely not posted


def test_channel_test_checks_the_token_and_posts(
    slack: SlackFake, incidents_channel: str, make_slack: Callable[..., SlackChannel]
) -> None:
    delivered = make_slack(name="ops").test()
    [message] = slack.posted(incidents_channel)
    assert delivered.ref == message["ts"]
    assert message["text"] == "warroom: a test message from channel ops"
    assert [c.method for c in slack.calls] == ["auth.test", "chat.postMessage", "chat.getPermalink"]
