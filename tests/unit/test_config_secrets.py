"""Secrets in the configuration: never in the Jira URL, never echoed, and a readable file is warned about."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from driver.config_file import config_file_in_use, exposed_secrets_warning, load_config, secret_keys
from driver.errors import ConfigError


@pytest.mark.parametrize(
    "url",
    [
        "https://ops:s3cr3t@jira.example.com",
        "https://ops@jira.example.com/jira",
        "http://:s3cr3t@127.0.0.1:8080",
    ],
)
def test_credentials_in_the_jira_url_are_refused_and_not_shown(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"JIRA_DRIVER_JIRA_URL": url})
    message = str(caught.value)
    assert "\n" not in message
    assert "s3cr3t" not in message
    assert "ops@" not in message
    assert message.startswith("[jira] url = '")
    assert "[credentials]@" in message
    assert "[jira] username" in message
    assert "[jira] password" in message
    assert "JIRA_DRIVER_JIRA_PASSWORD" in message


def test_an_at_sign_in_the_path_is_not_credentials() -> None:
    config = load_config(None, {"JIRA_DRIVER_JIRA_URL": "https://jira.example.com/jira/@team"})
    assert config.jira.url == "https://jira.example.com/jira/@team"


def test_a_bad_proxy_value_does_not_echo_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"JIRA_DRIVER_JIRA_PROXY": "user:pw-123@proxy:3128"})
    assert "pw-123" not in str(caught.value)
    assert "[credentials]@proxy:3128" in str(caught.value)


def test_every_secret_key_is_known() -> None:
    assert secret_keys() == {
        "jira": ["password", "bearer_token", "authorization_key", "client_secret"],
        "driver": ["api_token"],
        "sync": ["webhook_secret"],
        "grafana": ["secret"],
    }


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("jira", "password"),
        ("jira", "bearer_token"),
        ("jira", "authorization_key"),
        ("jira", "client_secret"),
        ("driver", "api_token"),
    ],
)
def test_a_readable_file_holding_a_secret_is_warned_about(tmp_path: Path, section: str, key: str) -> None:
    ini = tmp_path / "driver.ini"
    ini.write_text(f"[{section}]\n{key} = very-secret\n", encoding="utf-8")
    ini.chmod(0o640)
    warning = exposed_secrets_warning(ini)
    assert warning is not None
    assert f"{ini} holds [{section}] {key}" in warning
    assert f"chmod 600 {ini}" in warning
    assert "very-secret" not in warning
    ini.chmod(0o600)
    assert exposed_secrets_warning(ini) is None


def test_a_readable_file_without_secrets_is_not_warned_about(tmp_path: Path) -> None:
    ini = tmp_path / "driver.ini"
    ini.write_text("[jira]\nusername = ops\npassword =\n[driver]\nlisten = 127.0.0.1:0\n", encoding="utf-8")
    ini.chmod(0o644)
    assert exposed_secrets_warning(ini) is None
    assert exposed_secrets_warning(None) is None


def test_the_file_in_use_is_the_default_one_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert config_file_in_use(None) is None
    (tmp_path / "jira-driver.ini").write_text("", encoding="utf-8")
    assert config_file_in_use(None) == Path("jira-driver.ini")
    assert config_file_in_use(tmp_path / "x.ini") == tmp_path / "x.ini"


def test_only_loopback_addresses_count_as_loopback() -> None:
    from driver.service.process import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.0.2.7", "jira-driver.example.com"))


def test_the_start_up_line_names_where_the_credentials_came_from_never_their_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driver.service.process import credentials_line

    ini = tmp_path / "d.ini"
    ini.write_text("[jira]\nurl = https://jira.example.com\nusername = ops\npassword = file-secret\n")
    for name in [k for k in os.environ if k.startswith("JIRA_DRIVER_")]:
        monkeypatch.delenv(name)
    from_file = credentials_line(load_config(ini, {}))
    assert from_file == "Jira at https://jira.example.com: basic credentials as ops (from the config file)"
    monkeypatch.setenv("JIRA_DRIVER_JIRA_PASSWORD", "env-secret")
    monkeypatch.setenv("JIRA_DRIVER_JIRA_TIMEOUT_SECONDS", "9")  # not a credential: not named
    from_env = credentials_line(load_config(ini))
    assert from_env.endswith("(from the environment: JIRA_DRIVER_JIRA_PASSWORD)")
    assert "secret" not in from_env.replace("JIRA_DRIVER", "")


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("postgresql://ops:pg-s3cret@db.example.com/jd", "a password in the database URL"),
        ("postgresql://ops@db.example.com/jd?password=pg-s3cret", "a password in the database URL"),
        ("postgresql://ops@db.example.com/jd?sslmode=require&PASSWORD=pg-s3cret", "a password in"),
        ("postgresql://db.example.com:99999/jd", "expected postgresql://user@host:5432/dbname"),
        ("postgresql://ops@db.example.com", "expected postgresql://user@host:5432/dbname"),
        # libpq refuses these at connect, which the driver took for a server that was down and
        # waited on forever (found by helper-26)
        (
            "postgresql://ops@db.example.com/jd?sslmode=bogus",
            "libpq cannot read it: sslmode takes one of disable",
        ),
        # libpq's own message quotes the value: not shown (found by helper-30)
        ("postgresql://ops@db.example.com/jd?sslmode=%zzpg-s3cret", 'invalid percent-encoded token: "..."'),
        ("postgresql://ops@db.example.com/jd?sslmode=disable&sslpasswordpg-s3cret", 'separator "..."'),
        ("postgresql://ops@db.example.com/jd?sslmod=require", 'invalid URI query parameter: "sslmod"'),
        (
            "postgresql://ops@db.example.com/jd?target_session_attrs=any-old",
            "target_session_attrs takes one of",
        ),
    ],
)
def test_a_database_url_with_a_password_or_without_a_database_is_refused(
    tmp_path: Path, value: str, said: str
) -> None:
    ini = tmp_path / "d.ini"
    ini.write_text(f"[driver]\ndatabase = {value}\n")
    with pytest.raises(ConfigError, match=said) as refused:
        load_config(ini, {})
    assert "pg-s3cret" not in str(refused.value)


def test_a_database_url_without_a_password_is_taken(tmp_path: Path) -> None:
    ini = tmp_path / "d.ini"
    for url in (
        "postgresql://ops@db.example.com:5432/jd",
        "postgresql://ops@db.example.com/jd?sslmode=verify-full&application_name=jira-driver&connect_timeout=3",
    ):
        ini.write_text(f"[driver]\ndatabase = {url}\n")
        assert load_config(ini, {}).driver.database == url


@pytest.mark.parametrize(
    "proxy",
    [
        "puser:Sec/retPass@proxy:3128",  # no scheme: refused, and shown
        "http://puser:Sec/retPass@proxy:3128",  # a / in the password: not a URL httpx can read
        "puser:Sec?retPass@proxy:3128",  # a ? in the password
        "http://puser:Sec#retPass@proxy:3128",
    ],
)
def test_a_proxy_password_with_url_characters_is_refused_and_not_shown(proxy: str) -> None:
    """helper-18: the shown value cut at / ? # before hiding the credentials, telling the
    password (or its start); a / in it crashed `check` with httpx's InvalidURL instead."""
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"JIRA_DRIVER_JIRA_PROXY": proxy})
    message = str(caught.value)
    assert "Sec" not in message
    assert "retPass" not in message
    assert "[credentials]@" in message


@pytest.mark.parametrize("proxy", ["ftp://proxy:21", "http://proxy:notaport"])
def test_a_proxy_httpx_would_refuse_is_refused_at_load(proxy: str) -> None:
    """An ftp:// proxy passed the check of its form and then stopped `check` and `run` with
    httpx's traceback when the client was made: the configured proxy and the environment's are
    now checked by one piece (config_jira.readable_proxy)."""
    with pytest.raises(ConfigError, match="scheme http, https or socks5"):
        load_config(None, {"JIRA_DRIVER_JIRA_PROXY": proxy})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:pw@proxy:3128/x://y", "http://[credentials]@proxy:3128/x://y"),
        ("http://u:p@ss@proxy:3128", "http://[credentials]@proxy:3128"),
        ("u:pw@proxy:3128", "[credentials]@proxy:3128"),
        ("http://proxy:3128", "http://proxy:3128"),
    ],
)
def test_without_credentials_hides_everything_up_to_the_host(url: str, shown: str) -> None:
    from driver.model.responses import without_credentials

    assert without_credentials(url) == shown


def test_a_malformed_environment_proxy_does_not_stop_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """helper-18: NO_PROXY went through urlsplit as if a URL ('[::1' raised), and Config.secrets()
    is read before the log is set up, so `run` stopped with a traceback."""
    from driver.config import Config

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "localhost,[::1")
    monkeypatch.setenv("HTTPS_PROXY", "http://u:p@ss/w0rd@[bad")
    assert Config.model_validate({"jira": {"proxy": "bypass"}}).secrets() == []
    assert Config.model_validate({"jira": {"proxy": ""}}).secrets() == ["p@ss/w0rd"]


def test_secrets_are_named_by_where_they_are_set_and_plain_words_warned_of(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from driver.config import Config
    from driver.service.logging_setup import masking_words

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://u:proxy@proxy.example.com:3128")
    config = Config.model_validate(
        {
            "jira": {"password": "Summer2026!"},
            "driver": {"api_token": "pair"},
            "grafana": {"secret": "x" * 20},
        }
    )
    assert config.named_secrets() == [
        ("[jira] password", "Summer2026!"),
        ("[driver] api_token", "pair"),
        ("[grafana] secret", "x" * 20),
        ("the proxy's password (HTTPS_PROXY)", "proxy"),
    ]
    warnings = masking_words(config.named_secrets())
    assert [w.split(" is a short plain word")[0] for w in warnings] == [
        "[driver] api_token",
        "the proxy's password (HTTPS_PROXY)",
    ]
    assert not any("pair" in w or "proxy:" in w for w in warnings)


@pytest.mark.parametrize(
    ("section", "key"), [("driver", "api_token"), ("jira", "bearer_token"), ("jira", "authorization_key")]
)
def test_a_token_a_header_cannot_carry_is_refused_by_name_without_its_value(
    tmp_path: Path, section: str, key: str
) -> None:
    # a non-ASCII api_token started the driver, then every client command died with a
    # UnicodeEncodeError traceback (found by helper-26)
    ini = tmp_path / "d.ini"
    ini.write_text(f"[{section}]\n{key} = Tok3n-ABCDEFGHIJKLMNOP-\u00ff+/=\n")
    with pytest.raises(ConfigError, match=f"\\[{section}\\] {key} .*only printable ASCII") as refused:
        load_config(ini, {})
    assert "Tok3n" not in str(refused.value)
