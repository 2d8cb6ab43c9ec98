"""The webhook body reader: only the parts sync uses, the same as a full parse would give, in
bounded memory whatever the body's size (driver.sync.webhook_reader)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tracemalloc
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.sync.rules import WebhookBody, webhook_change
from driver.sync.webhook_reader import ISSUE_FIELDS, MAX_DEPTH, WebhookUnreadable, issue_named, read_webhook

STAMP = "customfield_10101"


def event(comments: int = 2, comment_size: int = 10, **extra: Any) -> dict[str, Any]:
    """A jira:issue_updated delivery as Jira renders it: the whole issue, comments included."""
    long_text = "y" * comment_size
    return {
        "timestamp": 1_764_000_000_000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_resolved",
        "user": {"name": "jsmith", "key": "JIRAUSER10100", "displayName": "Jane Smith"},
        "issue": {
            "id": "10001",
            "self": "https://jira.example/rest/api/2/issue/10001",
            "key": "OPS-1",
            "fields": {
                "summary": "link down",
                "description": "d" * 1000,
                "status": {"name": "Done", "statusCategory": {"key": "done"}},
                "resolution": {"name": "Fixed"},
                "assignee": None,
                "project": {"key": "OPS"},
                "issuetype": {"name": "Task"},
                "updated": "2026-12-04T10:00:00.000+0000",
                "labels": ["alarm-A1", "vip"],
                STAMP: "A1",
                "comment": {
                    "comments": [
                        {"id": str(n), "body": long_text, "author": {"name": "jsmith"}}
                        for n in range(comments)
                    ],
                    "total": comments,
                },
            },
        },
        "changelog": {
            "id": "5",
            "items": [
                {"field": "resolution", "fieldtype": "jira", "fromString": None, "toString": "Fixed"},
                {"field": "status", "fieldId": "status", "fromString": "To Do", "toString": "Done"},
            ],
        },
        **extra,
    }


def projection(body: dict[str, Any], stamp: str = STAMP) -> dict[str, Any]:
    """What read_webhook keeps of a body, computed from the whole of it: objects it reads into keep
    their wanted parts, any other value there is kept whole."""

    def pick(value: Any, keys: tuple[str, ...] | set[str]) -> Any:
        return {k: v for k, v in value.items() if k in keys} if isinstance(value, dict) else value

    kept: dict[str, Any] = pick(body, ("webhookEvent", "timestamp", "issue_event_type_name", "user"))
    if "issue" in body:
        issue = body["issue"]
        kept["issue"] = pick(issue, ("id", "key"))
        if isinstance(issue, dict) and "fields" in issue:
            kept["issue"]["fields"] = pick(issue["fields"], {*ISSUE_FIELDS, stamp})
    if "changelog" in body:
        changelog = body["changelog"]
        kept["changelog"] = pick(changelog, ("id",))
        if isinstance(changelog, dict) and "items" in changelog:
            items = changelog["items"]
            kept["changelog"]["items"] = (
                [pick(item, ("field", "fieldId")) for item in items] if isinstance(items, list) else items
            )
    if "comment" in body:
        kept["comment"] = pick(body["comment"], ("id", "author", "updateAuthor", "created", "updated"))
    return kept


def read(body: Any, stamp: str = STAMP) -> Any:
    return read_webhook(io.BytesIO(json.dumps(body).encode()), stamp)


def test_the_parts_sync_uses_and_nothing_else() -> None:
    body = event(comment={"id": "7", "body": "x" * 100, "author": {"name": "jsmith"}, "created": "c"})
    kept = read(body)
    assert kept == projection(body)
    assert "comment" not in kept["issue"]["fields"]
    assert "description" not in kept["issue"]["fields"]
    # what sync makes of it is what it made of the whole body
    whole = webhook_change(WebhookBody.model_validate(body))
    assert webhook_change(WebhookBody.model_validate(kept)) == whole


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def some_of(keys: list[str]) -> st.SearchStrategy[Any]:
    """An object with some of these keys (and odd values), or any other JSON value."""
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys)) | json_values


item = st.dictionaries(st.sampled_from(["field", "fieldId", "toString"]), json_values, max_size=3)
changelog = (
    st.fixed_dictionaries({}, optional={"id": json_values, "items": st.lists(item | json_values, max_size=3)})
    | json_values
)
issue_fields = st.dictionaries(
    st.sampled_from([*ISSUE_FIELDS, STAMP, "comment", "summary"]), json_values, max_size=5
)
issue = (
    st.fixed_dictionaries(
        {}, optional={"id": json_values, "key": json_values, "fields": issue_fields | json_values}
    )
    | json_values
)
body = st.fixed_dictionaries(
    {},
    optional={
        "webhookEvent": json_values,
        "timestamp": json_values,
        "user": json_values,
        "issue": issue,
        "changelog": changelog,
        "comment": some_of(["id", "author", "body", "created"]),
        "other": json_values,
    },
)


@given(body)
def test_any_body_reads_as_its_projection(whole: dict[str, Any]) -> None:
    assert read(whole) == projection(whole)


@pytest.mark.parametrize(
    "text", [b"", b"{", b'{"webhookEvent": ', b"not json", b'{"a": 1} trailing', b'{"a": 1,,}']
)
def test_text_that_is_not_json_is_refused_with_the_reason_on_one_line(text: bytes) -> None:
    # yajl's own message spans three lines (the error, an excerpt, a caret): a log line or an
    # answer's detail must not break there
    with pytest.raises(WebhookUnreadable, match="not JSON: .*error") as raised:
        read_webhook(io.BytesIO(text))
    assert "\n" not in str(raised.value)
    assert "right here" not in str(raised.value)


def test_a_body_cut_short_still_names_its_issue() -> None:
    whole = json.dumps(event(comments=50, comment_size=1000)).encode()
    assert issue_named(io.BytesIO(whole[: len(whole) // 2])) == "10001"
    assert issue_named(io.BytesIO(b'{"issue": {"key": "OPS-7", "fields": ')) == "OPS-7"
    assert issue_named(io.BytesIO(b'{"user": {}}')) is None
    assert issue_named(io.BytesIO(b"garbage")) is None


def test_memory_stays_bounded_whatever_the_size() -> None:
    """A 30 MB delivery (900 comments of 32 KB) is read holding a few hundred KB, not the body."""
    raw = json.dumps(event(comments=900, comment_size=32_000)).encode()
    assert len(raw) > 28_000_000
    stream = io.BytesIO(raw)
    tracemalloc.start()
    try:
        kept = read_webhook(stream, STAMP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept["issue"]["key"] == "OPS-1"
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes while reading {len(raw)}"


@pytest.mark.parametrize("reader", [read_webhook, issue_named])
def test_a_body_nested_past_the_bound_is_refused_in_linear_time(reader: Any) -> None:
    # ijson names each event by its whole path: 50,000 levels would have taken gigabytes
    deep = b'{"issue": {"id": "10001"}, "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    if reader is read_webhook:
        with pytest.raises(WebhookUnreadable, match=f"deeper than {MAX_DEPTH} levels"):
            reader(io.BytesIO(deep))
    else:
        assert reader(io.BytesIO(deep)) == "10001"
    at_the_bound = (
        b'{"issue": {"id": "10001"}, "x": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    )
    assert read_webhook(io.BytesIO(at_the_bound)) == {"issue": {"id": "10001"}}


def test_a_long_integer_is_refused_without_taking_the_process_down() -> None:
    # ijson's C parser crashed (SIGSEGV) making a Python int past its 4,300-digit limit: a child
    # process, so the crash this guards against cannot take the test run with it
    code = (
        "import io\n"
        "from driver.sync.webhook_reader import issue_named, read_webhook, WebhookUnreadable\n"
        'for body in (b\'{"timestamp": \' + b\'9\' * 4301 + b\', "issue": {"id": "10000"}}\',\n'
        '             b\'{"issue": {"id": "10000"}, "timestamp": \' + b\'9\' * 4301 + b\'}\'):\n'
        "    print(issue_named(io.BytesIO(body)))\n"
        "    try:\n"
        "        read_webhook(io.BytesIO(body))\n"
        "    except WebhookUnreadable as exc:\n"
        "        print('refused', exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-500:]
    lines = done.stdout.splitlines()
    assert (lines[0], lines[2]) == ("None", "10000"), lines
    assert lines[1].startswith("refused the body is not JSON"), lines
    assert lines[3].startswith("refused"), lines
