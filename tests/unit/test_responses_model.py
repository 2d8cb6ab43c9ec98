"""The Responses table's pure part: what kind a request is, and no secret surviving into a kept
path or body however it is placed (hypothesis)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.model.responses import (
    BODY_HEAD,
    MASK,
    ResponseKind,
    body_head,
    clean_path,
    kind_of,
    mask,
    secret_forms,
)

secrets_ = st.text(st.characters(blacklist_characters="*", codec="utf-8"), min_size=4, max_size=40)
texts = st.text(st.characters(codec="utf-8"), max_size=300)
users = st.sampled_from(["", "admin", "ops@example.com"])


@given(secrets_, users, texts, texts)
def test_a_configured_secret_never_survives_anywhere_in_a_text(
    secret: str, user: str, before: str, after: str
) -> None:
    forms = secret_forms([secret], user)
    basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
    for placed in (secret, quote(secret, safe=""), f"Authorization: Basic {basic}"):
        kept = mask(before + placed + after, forms)
        assert secret not in kept
        assert basic not in kept


@settings(max_examples=200)
@given(secrets_, st.integers(min_value=0, max_value=BODY_HEAD + 300), st.sampled_from(["x", "é", "€"]))
def test_a_secret_cut_at_the_edge_of_the_kept_head_leaves_no_part_of_four_or_more(
    secret: str, at: int, filler: str
) -> None:
    forms = secret_forms([secret])
    body = (filler * at + secret + filler * 50).encode()
    head = body_head(body, forms)
    assert len(head) <= BODY_HEAD
    assert secret not in head
    for size in range(4, len(secret)):
        assert not head.endswith(secret[:size])


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ('{"access_token":"abc.def","expires_in":3600}', '{"access_token":"****","expires_in":3600}'),
        ('{"clientSecret": "x\\"y", "name": "ok"}', '{"clientSecret": "****", "name": "ok"}'),
        ('{"statusCode": 503}', '{"statusCode": 503}'),
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ****"),
        ("callback?code=abc&state=s1&next=/", "callback?code=****&state=****&next=/"),
    ],
)
def test_secrets_are_masked_by_their_shape(text: str, kept: str) -> None:
    assert mask(text) == kept


def test_a_path_keeps_its_query_with_tokens_masked_and_is_bounded() -> None:
    path = clean_path("rest/api/2/search", {"jql": "project = OPS", "access_token": "t0ken", "fields": "a,b"})
    assert path == f"rest/api/2/search?jql=project%20%3D%20OPS&access_token={MASK}&fields=a,b"
    assert len(clean_path("rest/api/2/search", {"jql": "x" * 5000})) == 1000


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "rest/api/2/issue", ResponseKind.CREATE),
        ("PUT", "rest/api/3/issue/OPS-1", ResponseKind.EDIT),
        ("POST", "rest/api/latest/issue/OPS-1/comment", ResponseKind.COMMENT),
        ("GET", "rest/api/2/issue/OPS-1/comment", ResponseKind.READ),
        ("POST", "rest/api/2/issue/OPS-1/transitions", ResponseKind.TRANSITION),
        ("GET", "rest/api/2/issue/OPS-1/transitions", ResponseKind.READ),
        ("POST", "rest/api/3/search/jql", ResponseKind.SEARCH),
        ("POST", "rest/api/2/search", ResponseKind.SEARCH),
        ("PUT", "rest/api/2/issue/OPS-1/properties/jira-driver", ResponseKind.PROPERTY),
        ("GET", "rest/api/2/serverInfo", ResponseKind.METADATA),
        ("GET", "rest/api/2/project/OPS", ResponseKind.METADATA),
        ("GET", "rest/api/2/issue/OPS-1", ResponseKind.READ),
        ("DELETE", "rest/api/2/webhook/1", ResponseKind.OTHER),
    ],
)
def test_kind_of(method: str, path: str, kind: ResponseKind) -> None:
    assert kind_of(method, path) is kind
