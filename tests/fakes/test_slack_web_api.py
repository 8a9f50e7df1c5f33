"""The Slack Web API double behaves like Slack for slack_sdk's WebClient (the edge our Slack tests trust)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from tests.fakes.slack_web_api import (
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    SlackChannel,
    SlackUser,
    SlackWebApiDouble,
)


@pytest.fixture
def api() -> Iterator[SlackWebApiDouble]:
    with SlackWebApiDouble(
        bot_tokens=[DEFAULT_BOT_TOKEN],
        app_tokens=[DEFAULT_APP_TOKEN],
        users=[SlackUser("U0ALICE001", name="alice"), SlackUser("U0GUEST001", is_restricted=True)],
        usergroups={"S0APPROVE1": ["U0ALICE001", "U0BOB00001"]},
        socket_mode_url="ws://127.0.0.1:9/link/?ticket=abc",
    ) as double:
        yield double


def client_for(
    api: SlackWebApiDouble, token: str = DEFAULT_BOT_TOKEN, **kwargs: object
) -> WebClient:
    return WebClient(base_url=api.url, token=token, **kwargs)  # type: ignore[arg-type]


def test_post_then_update_edits_the_stored_message(api: SlackWebApiDouble) -> None:
    """chat.postMessage returns a Slack-shaped ts and chat.update of that ts rewrites text and blocks."""
    client = client_for(api)
    first = client.chat_postMessage(channel="C0OPS00001", text="pending")
    second = client.chat_postMessage(channel="C0OPS00001", text="other")
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["channel"] == "C0OPS00001"
    assert first["message"]["text"] == "pending"

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*approved*"}}]
    updated = client.chat_update(
        channel="C0OPS00001", ts=first["ts"], text="approved", blocks=blocks
    )

    assert updated["ts"] == first["ts"]
    stored = api.message("C0OPS00001", first["ts"])
    assert stored is not None
    assert stored["text"] == "approved"
    assert stored["blocks"] == blocks
    assert [m["text"] for m in api.messages("C0OPS00001")] == ["approved", "other"]
    call = api.calls("chat.update")[0]
    assert call.params["ts"] == first["ts"]
    assert call.headers["authorization"] == f"Bearer {DEFAULT_BOT_TOKEN}"


def test_update_of_unknown_ts_is_message_not_found(api: SlackWebApiDouble) -> None:
    """chat.update of a ts that was never posted fails like Slack, with message_not_found."""
    with pytest.raises(SlackApiError) as info:
        client_for(api).chat_update(channel="C0OPS00001", ts="1699999999.000100", text="x")
    assert info.value.response["error"] == "message_not_found"


def test_restricted_channels_answer_channel_not_found_and_not_in_channel() -> None:
    """With a channel list, unknown channels are channel_not_found and non-member ones not_in_channel."""
    channels: list[str | SlackChannel] = ["C0OPS00001", SlackChannel("C0PRIV0001", is_member=False)]
    with SlackWebApiDouble(channels=channels) as api:
        client = client_for(api)
        client.chat_postMessage(channel="C0OPS00001", text="ok")
        for channel, error in (
            ("C0NOPE0001", "channel_not_found"),
            ("C0PRIV0001", "not_in_channel"),
        ):
            with pytest.raises(SlackApiError) as info:
                client.chat_postMessage(channel=channel, text="x")
            assert info.value.response["error"] == error
        with pytest.raises(SlackApiError) as info:
            client.chat_update(channel="C0NOPE0001", ts="1700000000.000100", text="x")
        assert info.value.response["error"] == "channel_not_found"


def test_rate_limit_is_retried_by_slack_sdk_after_retry_after(api: SlackWebApiDouble) -> None:
    """A scripted 429 carries Retry-After, and slack_sdk's RateLimitErrorRetryHandler retries to success."""
    api.fail_next("chat.postMessage", status=429, retry_after=0)
    client = client_for(api, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    response = client.chat_postMessage(channel="C0OPS00001", text="hello")

    assert response["ok"] is True
    first, second = api.calls("chat.postMessage")
    assert (first.status, first.response["error"]) == (429, "ratelimited")
    assert second.status == 200
    assert len(api.messages("C0OPS00001")) == 1


def test_rate_limit_without_retry_handler_surfaces_retry_after(api: SlackWebApiDouble) -> None:
    """Without a retry handler the 429 reaches the caller as ratelimited with Slack's Retry-After header."""
    api.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        client_for(api).chat_postMessage(channel="C0OPS00001", text="hello")
    assert info.value.response.status_code == 429
    assert info.value.response["error"] == "ratelimited"
    assert info.value.response.headers["Retry-After"] == "7"
    assert api.messages("C0OPS00001") == []


def test_server_error_is_retried_and_scripted_errors_are_used_once_in_order(
    api: SlackWebApiDouble,
) -> None:
    """Queued failures answer the next calls in order (500, then ok:false), then normal service resumes."""
    api.fail_next("chat.postMessage", status=500)
    api.fail_next("chat.postMessage", error="channel_not_found")
    client = client_for(
        api,
        retry_handlers=[
            ServerErrorRetryHandler(
                max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            )
        ],
    )

    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C0OPS00001", text="x")

    assert info.value.response.status_code == 200
    assert info.value.response["error"] == "channel_not_found"
    assert [c.status for c in api.calls("chat.postMessage")] == [500, 200]
    assert client.chat_postMessage(channel="C0OPS00001", text="x")["ok"] is True


def test_bad_or_missing_tokens_are_refused(api: SlackWebApiDouble) -> None:
    """A wrong bot token is invalid_auth, none is not_authed, and an app token is the wrong type."""
    cases = (
        ("xoxb-wrong", "invalid_auth"),
        ("", "not_authed"),
        (DEFAULT_APP_TOKEN, "not_allowed_token_type"),
    )
    for token, error in cases:
        with pytest.raises(SlackApiError) as info:
            WebClient(base_url=api.url, token=token or None).auth_test()
        assert info.value.response["error"] == error
    assert client_for(api).auth_test()["user_id"] == api.bot_user_id


def test_auth_test_names_the_workspace_and_the_bot_like_slack() -> None:
    """auth.test answers team_id, user_id and bot_id, adds enterprise_id only inside a Grid, and
    says invalid_auth for a token it does not know."""
    with SlackWebApiDouble(bot_tokens=[DEFAULT_BOT_TOKEN], team_id="T0SOLO0001") as solo:
        plain = client_for(solo).auth_test()
        with pytest.raises(SlackApiError) as info:
            client_for(solo, "xoxb-not-ours").auth_test()
    with SlackWebApiDouble(team_id="T0GRID0001", enterprise_id="E0GRID0001") as grid:
        in_grid = client_for(grid).auth_test()

    assert (plain["team_id"], plain["user_id"], plain["bot_id"]) == (
        "T0SOLO0001",
        solo.bot_user_id,
        solo.bot_id,
    )
    assert "enterprise_id" not in plain.data
    assert plain["is_enterprise_install"] is False
    assert info.value.response["error"] == "invalid_auth"
    assert (in_grid["team_id"], in_grid["enterprise_id"]) == ("T0GRID0001", "E0GRID0001")


def test_apps_connections_open_needs_an_app_token(api: SlackWebApiDouble) -> None:
    """apps.connections.open returns the configured URL for an xapp- token and refuses a bot token."""
    client = WebClient(base_url=api.url)
    assert (
        client.apps_connections_open(app_token=DEFAULT_APP_TOKEN)["url"]
        == "ws://127.0.0.1:9/link/?ticket=abc"
    )
    with pytest.raises(SlackApiError) as info:
        client.apps_connections_open(app_token=DEFAULT_BOT_TOKEN)
    assert info.value.response["error"] == "not_allowed_token_type"


def test_directory_methods_answer_from_the_configured_users_and_groups(
    api: SlackWebApiDouble,
) -> None:
    """users.info and usergroups.users.list answer from the directory, with Slack's errors otherwise."""
    client = client_for(api)
    guest = client.users_info(user="U0GUEST001")["user"]
    assert (guest["id"], guest["is_restricted"], guest["is_bot"]) == ("U0GUEST001", True, False)
    assert "is_stranger" not in guest
    assert client.usergroups_users_list(usergroup="S0APPROVE1")["users"] == [
        "U0ALICE001",
        "U0BOB00001",
    ]
    with pytest.raises(SlackApiError) as info:
        client.users_info(user="U0NOBODY01")
    assert info.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as info:
        client.usergroups_users_list(usergroup="S0NOPE0001")
    assert info.value.response["error"] == "no_such_subteam"


def test_ephemeral_permalink_views_and_conversations(api: SlackWebApiDouble) -> None:
    """postEphemeral, getPermalink, views.open/update and conversations.info answer in Slack's shapes."""
    client = client_for(api)
    eph = client.chat_postEphemeral(channel="C0OPS00001", user="U0ALICE001", text="only you")
    assert api.ephemerals("C0OPS00001")[0]["ts"] == eph["message_ts"]

    posted = client.chat_postMessage(channel="C0OPS00001", text="x")
    link = client.chat_getPermalink(channel="C0OPS00001", message_ts=posted["ts"])["permalink"]
    assert link.endswith("/archives/C0OPS00001/p1700000000000200")

    modal = {
        "type": "modal",
        "callback_id": "deny",
        "title": {"type": "plain_text", "text": "Deny"},
        "blocks": [],
    }
    view = client.views_open(trigger_id="1.2.3", view=modal)["view"]
    updated = client.views_update(
        view_id=view["id"], hash=view["hash"], view={**modal, "callback_id": "deny2"}
    )
    assert api.views()[view["id"]]["callback_id"] == updated["view"]["callback_id"] == "deny2"
    with pytest.raises(SlackApiError) as info:
        client.views_update(view_id=view["id"], hash=view["hash"], view=modal)
    assert info.value.response["error"] == "hash_conflict"

    assert client.conversations_info(channel="C0OPS00001")["channel"]["id"] == "C0OPS00001"


def test_form_and_json_bodies_are_both_understood(api: SlackWebApiDouble) -> None:
    """A form body with blocks as a JSON string is recorded like the JSON body WebClient sends."""
    blocks = [{"type": "divider"}]
    body = f"channel=C0OPS00001&text=hi&blocks={json.dumps(blocks)}".encode()
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        api.url + "chat.postMessage",
        data=body,
        headers={
            "Authorization": f"Bearer {DEFAULT_BOT_TOKEN}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback only)
        answer = json.loads(response.read())
    client_for(api).chat_postMessage(channel="C0OPS00001", text="hi", blocks=blocks)

    assert answer["ok"] is True
    form_call, json_call = api.calls("chat.postMessage")
    assert form_call.params["blocks"] == json_call.params["blocks"] == blocks
    assert json_call.headers["content-type"].startswith("application/json")


def test_unknown_method_is_refused(api: SlackWebApiDouble) -> None:
    """A method the double does not know answers ok:false unknown_method, as Slack does."""
    with pytest.raises(SlackApiError) as info:
        client_for(api).api_call(
            "chat.scheduleMessage", json={"channel": "C1", "text": "x", "post_at": 1}
        )
    assert info.value.response["error"] == "unknown_method"


def test_latency_knob_delays_answers(api: SlackWebApiDouble) -> None:
    """A per-method latency makes a client with a shorter timeout give up, and only on that method."""
    api.set_latency("chat.postMessage", 1.0)
    hasty = WebClient(base_url=api.url, token=DEFAULT_BOT_TOKEN, timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        hasty.chat_postMessage(channel="C0OPS00001", text="slow")
    assert hasty.auth_test()["ok"] is True


def test_wait_for_polls_calls_made_from_another_thread(api: SlackWebApiDouble) -> None:
    """wait_for returns once another thread's calls arrive, and times out with the calls it saw."""
    worker = threading.Thread(
        target=lambda: [
            client_for(api).chat_postMessage(channel="C0OPS00001", text=str(i)) for i in range(3)
        ]
    )
    worker.start()
    calls = api.wait_for("chat.postMessage", count=3, timeout_s=5)
    worker.join()
    assert [c.params["text"] for c in calls] == ["0", "1", "2"]
    with pytest.raises(TimeoutError, match=r"chat\.update called 0 time"):
        api.wait_for("chat.update", timeout_s=0.05)


def test_response_url_posts_are_recorded(api: SlackWebApiDouble) -> None:
    """POSTs to response_url() stay on loopback and are recorded as response_url calls."""
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        api.response_url("cmd1"),
        data=json.dumps({"text": "done", "response_type": "ephemeral"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback only)
        assert response.status == 200
    assert api.wait_for("response_url")[0].params == {"text": "done", "response_type": "ephemeral"}


def test_latency_applies_to_every_method_within_its_range() -> None:
    """A double built with a latency range answers every method no sooner than its lower bound."""
    with SlackWebApiDouble(latency_s=(0.1, 0.15)) as slow:
        client = client_for(slow)
        for method, params in (
            ("auth.test", {}),
            ("chat.postMessage", {"channel": "C1", "text": "x"}),
        ):
            started = time.monotonic()
            client.api_call(method, params=params)
            assert time.monotonic() - started >= 0.1


def test_rate_limits_follow_each_methods_tier() -> None:
    """Past Tier 2's 20 calls usergroups.users.list gets 429 with Retry-After; chat.postMessage
    is limited per channel, so another channel still posts."""
    with SlackWebApiDouble(rate_limits=True, usergroups={"S1": ["U1"]}) as limited:
        client = client_for(limited)  # no retry handlers: the 429 surfaces
        for _ in range(20):
            client.usergroups_users_list(usergroup="S1")
        with pytest.raises(SlackApiError) as tier:
            client.usergroups_users_list(usergroup="S1")
        assert tier.value.response.status_code == 429
        assert int(tier.value.response.headers["Retry-After"]) >= 1
        for _ in range(3):
            client.chat_postMessage(channel="C1", text="burst")
        with pytest.raises(SlackApiError) as per_channel:
            client.chat_postMessage(channel="C1", text="one too many")
        assert per_channel.value.response.status_code == 429
        assert client.chat_postMessage(channel="C2", text="elsewhere")["ok"] is True


def test_server_errors_come_at_the_configured_rate() -> None:
    """With server_error_rate=1 every call is a 503; scripted answers are unaffected by the seed."""
    with SlackWebApiDouble(server_error_rate=1.0) as failing:
        with pytest.raises(SlackApiError) as error:
            client_for(failing).auth_test()
        assert error.value.response.status_code == 503


def test_a_method_outside_the_granted_scopes_is_missing_scope() -> None:
    """conversations.history needs channels:history in a public channel and groups:history in a
    private one; Slack names what was needed and what the app has."""
    private = SlackChannel("C0PRIV0001", is_private=True)
    granted = ["chat:write", "channels:history"]
    with SlackWebApiDouble(scopes=granted, channels=["C0PUB00001", private]) as scoped:
        client = client_for(scoped)
        assert client.conversations_history(channel="C0PUB00001")["ok"] is True
        with pytest.raises(SlackApiError) as refused:
            client.conversations_history(channel="C0PRIV0001")
        assert refused.value.response["error"] == "missing_scope"
        assert refused.value.response["needed"] == "groups:history"
        assert refused.value.response["provided"] == "channels:history,chat:write"
        with pytest.raises(SlackApiError, match="missing_scope"):
            client.users_info(user="U1")


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        (
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
            "invalid_blocks",
        ),
        (
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2500}}] * 5},
            "msg_blocks_too_long",
        ),
    ],
)
def test_messages_over_slacks_limits_are_refused(
    api: SlackWebApiDouble, params: dict[str, object], error: str
) -> None:
    """Posting, posting ephemerally and updating all refuse a message too big for Slack."""
    client = client_for(api)
    posted = client.chat_postMessage(channel="C0OPS00001", text="small")
    for method, where in (
        ("chat.postMessage", {}),
        ("chat.postEphemeral", {"user": "U1"}),
        ("chat.update", {"ts": posted["ts"]}),
    ):
        with pytest.raises(SlackApiError) as refused:
            client.api_call(method, json={"channel": "C0OPS00001", **where, **params})
        assert refused.value.response["error"] == error


def _post_response_url(url: str, payload: dict[str, object]) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback only)
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_response_url_answers_in_plain_words_and_takes_five_posts(
    api: SlackWebApiDouble,
) -> None:
    """Like Slack's: "ok" five times, then 404 used_url; an empty or too big message is a 400."""
    url = api.response_url("five")
    assert _post_response_url(api.response_url("other"), {}) == (400, "no_text")
    too_big: dict[str, object] = {"blocks": [_section("x" * 2900)] * 5}
    assert _post_response_url(api.response_url("big"), too_big) == (400, "msg_blocks_too_long")
    answers = [_post_response_url(url, {"text": str(i)}) for i in range(6)]
    assert answers == [(200, "ok")] * 5 + [(404, "used_url")]


def test_views_publish_replaces_a_users_home_tab(api: SlackWebApiDouble) -> None:
    """views.publish keeps the last home view per user and refuses anything but a home view."""
    client = client_for(api)
    for text in ("first", "second"):
        view = {
            "type": "home",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
        client.views_publish(user_id="U0ALICE001", view=view)
    home = api.home_view("U0ALICE001")
    assert home is not None
    assert home["blocks"][0]["text"]["text"] == "second"
    assert api.home_view("U0BOB00001") is None
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.views_publish(user_id="U0ALICE001", view={"type": "modal", "blocks": []})
