"""Configuration: the example file documents every key, and bad values fail in one line."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

from driver.config import Config
from driver.config_file import known_keys, load_config
from driver.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.ini"


def test_the_example_holds_exactly_the_models_keys() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(EXAMPLE, encoding="utf-8")
    documented = {section: list(parser[section]) for section in parser.sections()}
    assert documented == known_keys()


def test_every_example_key_is_commented_as_optional_or_required() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(text):
        if line and not line.startswith((";", "[")) and "=" in line:
            comment: list[str] = []
            j = index - 1
            while j >= 0 and text[j].startswith(";"):
                comment.insert(0, text[j])
                j -= 1
            joined = " ".join(comment)
            assert "Optional" in joined or "Required" in joined, line


def test_the_example_loads_to_the_defaults() -> None:
    assert load_config(EXAMPLE, {}) == Config()


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    ini = tmp_path / "c.ini"
    ini.write_text("[jira]\nusername = file-user\n[update]\nmax_updates = 3\n")
    env = {"JIRA_DRIVER_JIRA_BEARER_TOKEN": "pat-123", "JIRA_DRIVER_UPDATE_MAX_UPDATES": "7"}
    config = load_config(ini, env)
    assert config.jira.username == "file-user"
    assert config.jira.bearer_token.get_secret_value() == "pat-123"
    assert config.update.max_updates == 7


def test_protected_fields_are_a_list() -> None:
    config = load_config(None, {"JIRA_DRIVER_UPDATE_PROTECTED_FIELDS": " assignee, reporter ,"})
    assert config.update.protected_fields == ("assignee", "reporter")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[update]\nmax_updates = ten\n", "[update] max_updates = 'ten': expected a whole number"),
        ("[update]\nmax_updates = -1\n", "[update] max_updates = '-1': expected a number >= 0"),
        ("[update]\nscope = tickets\n", "[update] scope = 'tickets': expected one of ticket or global"),
        ("[jira]\nverify_tls = maybe\n", "[jira] verify_tls = 'maybe': expected true or false"),
        ("[jira]\nurl = jira.example.com\n", "[jira] url = 'jira.example.com': expected a URL"),
        ("[jira]\npasword = x\n", "[jira] pasword: unknown key"),
        ("[jira2]\nurl = x\n", "[jira2] *: unknown section"),
        ("[driver]\nlisten = 8750\n", "[driver] listen = '8750': expected host:port"),
        ("[driver]\ntimezone = Mars/Base\n", "[driver] timezone = 'Mars/Base': expected an IANA"),
        ("[ticket]\nguid_field = Alarm GUID\n", "[ticket] guid_field = 'Alarm GUID': expected empty"),
        ("[ticket]\nprobe_new_days = -1\n", "[ticket] probe_new_days = '-1': expected a number >= 0"),
        ("[ticket]\nprobe_new_days = week\n", "[ticket] probe_new_days = 'week': expected a number"),
        ("no section\n", "not a valid INI file"),
    ],
)
def test_a_bad_value_names_section_key_value_and_what_is_allowed(
    tmp_path: Path, text: str, message: str
) -> None:
    ini = tmp_path / "bad.ini"
    ini.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(ini, {})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_mistyped_secret_key_is_not_echoed(tmp_path: Path) -> None:
    ini = tmp_path / "typo.ini"
    ini.write_text("[jira]\npasword = hunter2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(ini, {})
    assert "hunter2" not in str(caught.value)
    assert "pasword" in str(caught.value)


def test_the_cli_stops_with_one_line_and_exit_2(tmp_path: Path) -> None:
    ini = tmp_path / "bad.ini"
    ini.write_text("[update]\nmax_updates = ten\n")
    result = subprocess.run(
        [sys.executable, "-m", "driver", "stats", "--config", str(ini)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "jira-driver: configuration error: [update] max_updates = 'ten': expected a whole number"
    ]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("token_expires = tomorrow", "[jira] token_expires = 'tomorrow': expected a date as YYYY-MM-DD"),
        ("cloud_id = a b", "[jira] cloud_id = 'a b': expected only letters, digits and hyphens"),
        ("client_id = a b", "[jira] client_id = 'a b': expected printable ASCII without spaces"),
        (f"client_id = {'x' * 3000}", "(3000 chars)': expected at most 500 characters"),
    ],
)
def test_config_errors_are_plain_words_not_the_validators(tmp_path: Path, line: str, said: str) -> None:
    ini = tmp_path / "d.ini"
    ini.write_text(f"[jira]\n{line}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(ini, {})
    message = str(raised.value)
    assert said in message
    assert len(message) < 200
    assert not any(words in message for words in ("should", "Input", "pattern"))


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("JIRA_DRIVER_JIRA_PASWORD", "did you mean JIRA_DRIVER_JIRA_PASSWORD?"),
        ("JIRA_DRIVER_UPDATE_MAXUPDATES", "did you mean JIRA_DRIVER_UPDATE_MAX_UPDATES?"),
        ("JIRA_DRIVER_X", "the form is JIRA_DRIVER_<SECTION>_<KEY>"),
    ],
)
def test_a_misspelt_environment_variable_is_refused_by_name_never_its_value(name: str, hint: str) -> None:
    """helper-21: a misspelt variable was ignored in silence; the operator met a 401 later."""
    with pytest.raises(ConfigError) as caught:
        load_config(None, environ={name: "s3cret-value", "JIRA_DRIVER_URL": "http://127.0.0.1:8750"})
    assert str(caught.value) == f"[environment] {name}: not a setting ({hint})"
    assert "s3cret" not in str(caught.value)


def test_the_variables_that_are_not_settings_are_let_be() -> None:
    environ = {"JIRA_DRIVER_URL": "http://x", "JIRA_DRIVER_PARENT_FD": "3", "JIRA_DRIVER_FAILPOINTS": ""}
    assert load_config(None, environ=environ).jira.url == Config().jira.url
