"""Every form an answer may echo a secret in is masked: in what is kept of Jira's answers
(driver.model.responses) and in the driver's log (driver.service.logging_setup.SecretFilter)."""

from __future__ import annotations

import base64
import json
import logging
import re
from urllib.parse import quote, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from driver.model.responses import MASK, body_head, mask, mask_json, secret_forms
from driver.service.logging_setup import MASK as LOG_MASK
from driver.service.logging_setup import SecretFilter

secrets = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="«»*"), max_size=40
).filter(lambda s: s.strip() == s and len(s) >= 4)


def echoes(secret: str, username: str) -> list[str]:
    """What a Jira, a proxy or a custom endpoint may answer with the secret in it."""
    encoded = [quote(secret, safe=""), quote(secret), quote_plus(secret)]
    basic = b64(f"{username}:{secret}")
    json_forms = [json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]]
    return [
        secret,
        *json_forms,
        *(json.dumps(text)[1:-1] for text in json_forms),  # a JSON string of a JSON string
        *encoded,
        *(re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), text) for text in encoded),
        basic,
        basic.rstrip("="),
        quote(basic, safe=""),
        b64(secret),
        *(form for header in (f"Basic {basic}", f"Bearer {secret}") for form in header_forms(header)),
    ]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def header_forms(header: str) -> list[str]:
    """An Authorization value echoed percent-encoded, with + for its space, or in base64."""
    return [quote(header, safe=""), quote_plus(header), b64(header), b64(header).rstrip("=")]


@given(secrets, st.sampled_from(["eve", "ops.bot@example.com", ""]))
def test_every_echoed_form_is_masked_in_an_answer(secret: str, username: str) -> None:
    forms = secret_forms([secret], username)
    for echoed in echoes(secret, username):
        assert body_head(f"«{echoed}»".encode(), forms) == f"«{MASK}»", echoed


def test_a_password_echoed_as_a_json_string_is_masked() -> None:
    # found by helper-26: `"` and `\\` are escaped in a JSON string, so the raw form never matched
    secret = 'Pa"ss\\w0rd-1234'
    body = json.dumps({"errorMessages": [f"bad password {secret}"]}).encode()
    assert json.dumps(secret)[1:-1] not in body_head(body, secret_forms([secret], "eve"))


def test_percent_encodings_in_either_case_and_with_plus_for_space_are_masked() -> None:
    secret = 'Pä ss/w0rd+"q\\z!'
    forms = secret_forms([secret], "eve")
    for echoed in (
        "P%C3%A4+ss%2Fw0rd%2B%22q%5Cz%21",
        "P%c3%a4%20ss%2fw0rd%2b%22q%5cz%21",
        "P%C3%A4%20ss/w0rd%2B%22q%5Cz%21",
        base64.b64encode(f"eve:{secret}".encode()).decode(),
    ):
        assert mask(f"x={echoed}&y=1", forms) == f"x={MASK}&y=1"


def test_a_custom_endpoints_answer_is_masked_in_every_string_it_holds() -> None:
    forms = secret_forms(["s3cret-value"], "eve")
    answer = {"echo": ["s3cret-value", {"nested": "a s3cret-value b", "n": 3}], "s3cret-value": True}
    assert mask_json(answer, forms) == {
        "echo": [MASK, {"nested": f"a {MASK} b", "n": 3}],
        "s3cret-value": True,
    }


def _logged(message: str, log_filter: SecretFilter) -> str:
    record = logging.LogRecord("driver.engine", logging.WARNING, __file__, 1, message, (), None)
    log_filter.filter(record)
    return record.getMessage()


def test_the_log_masks_the_basic_header_form_of_the_password() -> None:
    # found by helper-26: the engine logged Jira's reason with `Basic <base64 of user:password>`
    token = base64.b64encode(b"eve:ATATT3xFfGF0abcdef123456").decode()
    line = _logged(
        f"log #1 CALL G1 failed: HTTP 400: you sent Basic {token}",
        SecretFilter(["ATATT3xFfGF0abcdef123456"], "eve"),
    )
    assert line == f"log #1 CALL G1 failed: HTTP 400: you sent Basic {LOG_MASK}"


def test_the_log_masks_credentials_set_while_the_driver_runs() -> None:
    # found by helper-26: a token set by PUT /api/settings/auth was logged as it was
    present: list[tuple[str, ...]] = [()]
    log_filter = SecretFilter(["configured-password"], "eve")
    log_filter.watch(lambda: present[0])
    assert _logged("RuntimeTok3nXYZ0123456789abc", log_filter) == "RuntimeTok3nXYZ0123456789abc"
    present[0] = secret_forms(["RuntimeTok3nXYZ0123456789abc"])
    assert _logged("sent Bearer RuntimeTok3nXYZ0123456789abc", log_filter) == f"sent Bearer {LOG_MASK}"
    assert _logged("configured-password", log_filter) == LOG_MASK
