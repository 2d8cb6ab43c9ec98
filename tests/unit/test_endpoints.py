"""Custom API endpoints (driver.model.endpoints): templates checked at start, values that can never
change what a template means, the CALL grammar, and the verdict on a call whose outcome is unknown."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.config_file import load_config
from driver.errors import (
    CommandError,
    ConfigError,
    JiraAuthError,
    JiraNotReached,
    JiraRateLimited,
    JiraRejected,
    JiraRetryable,
    JiraTimeout,
    JiraUnavailable,
)
from driver.model.commands import Action, Command, Pair, parse, parse_command, render
from driver.model.endpoints import Endpoint, EndpointError, check_variables
from driver.model.fields import FieldCatalog
from driver.sending.verdicts import Verdict, decide
from driver.sending.work import WorkKind

ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


def endpoint(
    path: str = "rest/api/2/issue/{key}/properties/{name}", body: str = "", **kw: object
) -> Endpoint:
    return Endpoint.of("e", str(kw.get("method", "PUT")), path, body)


@given(name=ANY_TEXT, key=st.from_regex(r"[A-Z]{1,5}-[1-9][0-9]{0,4}", fullmatch=True))
def test_a_value_is_one_path_segment_whatever_it_holds(name: str, key: str) -> None:
    ep = endpoint()
    if name in (".", ".."):
        # only a value that would read as a dot segment is refused
        with pytest.raises(EndpointError, match="would leave the endpoint's path"):
            ep.fill({"key": key, "name": name, "guid": "g"})
        return
    filled = ep.fill({"key": key, "name": name, "guid": "g"})
    segments = filled.path.split("/")
    assert segments[:5] == ["rest", "api", "2", "issue", key]
    assert len(segments) == 7
    assert unquote(segments[6]) == name
    assert "?" not in filled.path
    assert "#" not in filled.path


@given(value=ANY_TEXT)
def test_a_value_in_the_query_cannot_add_a_parameter(value: str) -> None:
    ep = Endpoint.of("e", "GET", "rest/api/2/search?jql={jql}&fields=key", "")
    filled = ep.fill({"jql": value, "guid": "g", "key": "", "id": ""})
    route, _, query = filled.path.partition("?")
    assert route == "rest/api/2/search"
    params = query.split("&")
    assert len(params) == 2
    assert params[1] == "fields=key"
    assert unquote(params[0].removeprefix("jql=")) == value


@given(note=ANY_TEXT, other=ANY_TEXT)
def test_a_value_in_the_body_is_one_json_string(note: str, other: str) -> None:
    ep = endpoint(body='{"note": "{note}", "fixed": ["a", "{other}!", 3], "{note}": true}')
    filled = ep.fill({"key": "A-1", "name": "p", "guid": "g", "note": note, "other": other})
    again = json.loads(json.dumps(filled.body))
    # keys are never filled: a value cannot add or rename one
    assert again == {"note": note, "fixed": ["a", other + "!", 3], "{note}": True}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/rest/api/2/issue", "without a leading /"),
        ("https://evil.example/x", "no scheme"),
        ("//evil.example/x", "without a leading /"),
        ("rest//x", "no scheme, host or empty segment"),
        ("rest/../../admin", "without '.' or '..' segments"),
        ("rest/%2e%2e/admin", "without '.' or '..' segments"),
        ("rest/./x", "without '.' or '..' segments"),
        ("rest/x#frag", "without a #fragment"),
        ("rest\\x", "backslashes"),
        ("rest/x y", "without spaces"),
        ("rest/{key", "not a placeholder"),
        ("rest/{a-b}", "not a placeholder"),
        ("", "relative to the Jira URL"),
        ("javascript:alert(1)", "no scheme"),
    ],
)
def test_a_path_that_could_leave_the_jira_url_is_refused(path: str, reason: str) -> None:
    with pytest.raises(EndpointError) as caught:
        Endpoint.of("e", "POST", path)
    assert caught.value.key == "path"
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("kwargs", "key", "reason"),
    [
        ({"name": "a b"}, "name", "letters, digits"),
        ({"method": "TRACE"}, "method", "one of GET, POST, PUT, PATCH, DELETE"),
        ({"method": "GET", "body": "{}"}, "body", "a GET sends no body"),
        ({"body": "{nope"}, "body", "not valid JSON"),
        ({"expect": ()}, "expect", "at least one"),
        ({"expect": (99,)}, "expect", "not an HTTP status code"),
    ],
)
def test_a_bad_section_names_its_key(kwargs: dict[str, object], key: str, reason: str) -> None:
    values: dict[str, object] = {"name": "e", "method": "POST", "path": "rest/x", **kwargs}
    with pytest.raises(EndpointError) as caught:
        Endpoint.of(**values)  # type: ignore[arg-type]
    assert (caught.value.key, reason in caught.value.reason) == (key, True)


def test_what_an_endpoint_needs() -> None:
    ep = endpoint(body='{"who": "{user}", "alarm": "{guid}"}')
    assert ep.placeholders == ["key", "name", "user", "guid"]
    assert ep.variables == ["name", "user"]
    assert ep.needs_ticket
    assert not Endpoint.of("n", "POST", "rest/api/2/myself/{guid}").needs_ticket
    assert check_variables(ep, {"name": "p", "user": "u"}) == ("", "")
    assert check_variables(ep, {"name": "p"})[1].startswith("endpoint 'e' needs a value for {user}")
    assert check_variables(ep, {"name": "p", "user": "u", "x": "1"}) == (
        "x",
        "endpoint 'e' has no placeholder {x} (its variables: name, user)",
    )
    assert check_variables(ep, {"key": "A-1"})[0] == "key"


def test_the_call_grammar() -> None:
    text = "G-1|CALL|endpoint;watch|user;a;b|note;\\|x\\n|"
    command = parse(text)
    assert command.action == Action.CALL
    assert render(command) == text
    resolved = parse_command(text, FieldCatalog.system())
    assert (resolved.endpoint, resolved.variables) == ("watch", {"user": "a;b", "note": "|x\n"})
    roundtrip = Command("G-1", Action.CALL, (Pair("endpoint", "w"), Pair("v", "|;\\\n")))
    assert parse(render(roundtrip)) == roundtrip


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("G|CALL|user;x|", 3, "a CALL names its endpoint"),
        ("G|CALL|endpoint;a|endpoint;b|", 19, "endpoint named twice"),
        ("G|CALL|endpoint;|", 17, "empty endpoint name"),
        ("G|CALL|endpoint;a|9x;1|", 19, "variable '9x'"),
        ("G|CALL|endpoint;a|guid;1|", 19, "{guid} is filled by the driver"),
        ("G|CALL|endpoint;a|x;1|x;2|", 23, "variable 'x' given twice"),
    ],
)
def test_a_bad_call_is_refused_at_its_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text, FieldCatalog.system())
    assert caught.value.position == position
    assert reason in caught.value.reason


NOT_IDEMPOTENT = Endpoint.of("watch", "POST", "rest/api/2/issue/{key}/watchers", '"{user}"')
IDEMPOTENT = Endpoint.of("watch", "POST", "rest/api/2/issue/{key}/watchers", '"{user}"', idempotent=True)


@pytest.mark.parametrize(
    "error",
    [
        JiraTimeout("timeout: no answer within 5 s"),
        JiraUnavailable("HTTP 502 Bad Gateway"),
        JiraRetryable("HTTP 500: boom", None, 500),
        JiraRetryable("connection reset"),
    ],
)
def test_a_call_whose_outcome_is_unknown_fails_unless_idempotent(error: Exception) -> None:
    decision = decide(WorkKind.CALL, error, 0, 5, call=NOT_IDEMPOTENT)
    assert decision.verdict == Verdict.FAIL
    assert decision.reason.startswith("outcome unknown: CALL watch may have reached Jira (")
    again = decide(WorkKind.CALL, error, 0, 5, call=IDEMPOTENT)
    assert again.verdict in (Verdict.RETRY, Verdict.PARK)


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (JiraAuthError(401, "no"), Verdict.STOP),
        (JiraRateLimited("HTTP 429", 1.0, "all", None, None), Verdict.PAUSE),
        (JiraNotReached("connection refused"), Verdict.PARK),
        (JiraRejected(400, ["bad user"], {}), Verdict.FAIL),
    ],
)
def test_a_call_that_surely_did_not_go_waits_or_fails_as_any_request(
    error: Exception, verdict: Verdict
) -> None:
    decision = decide(WorkKind.CALL, error, 0, 5, call=NOT_IDEMPOTENT)
    assert decision.verdict == verdict
    assert "outcome unknown" not in decision.reason


def test_endpoint_sections_are_read_and_checked(tmp_path: Path) -> None:
    ini = tmp_path / "d.ini"
    ini.write_text(
        '[endpoint.watch]\npath = rest/api/2/issue/{key}/watchers\nbody = "{user}"\nexpect = 204, 200\n'
        "idempotent = true\n",
        encoding="utf-8",
    )
    (watch,) = load_config(ini, {}).endpoint_map().values()
    assert (watch.name, watch.method, watch.expect, watch.idempotent, watch.body) == (
        "watch",
        "POST",
        (204, 200),
        True,
        "{user}",
    )
    ini.write_text("[endpoint.watch]\npath = https://evil.example/steal\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(ini, {})
    assert str(caught.value).startswith(
        "[endpoint.watch] path = 'https://evil.example/steal': expected a path"
    )
    ini.write_text("[endpoint.watch]\npath = rest/x\ncolour = red\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[endpoint.watch\] colour: unknown key"):
        load_config(ini, {})
    ini.write_text("[endpoint.watch]\npath = rest/x\nexpect = two\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[endpoint.watch\] expect"):
        load_config(ini, {})
