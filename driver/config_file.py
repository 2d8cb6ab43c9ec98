"""Reading the config file: the INI sections, `JIRA_DRIVER_<SECTION>_<KEY>` environment overrides, a
file others may read that holds secrets, and one-line errors naming the file, the section, the key
and what is wrong (exit 2). The sections themselves and their bounds are driver.config.
"""

from __future__ import annotations

import configparser
import difflib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    SecretStr,
    ValidationError,
)

from driver.config import ENDPOINT_PREFIX, SECTIONS, Config, EndpointSection
from driver.errors import ConfigError
from driver.model.responses import without_credentials

DEFAULT_CONFIG_FILE = Path("jira-driver.ini")

ENV_PREFIX = "JIRA_DRIVER_"


def known_keys() -> dict[str, list[str]]:
    """Every section and its keys, in declaration order."""
    return {name: list(model.model_fields) for name, model in SECTIONS.items()}


def _read_ini(path: Path) -> dict[str, Any]:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except configparser.Error as exc:
        reason = f"not a valid INI file: {exc}".replace("\n", " ")
        raise ConfigError("file", str(path), None, reason) from None
    except OSError as exc:
        raise ConfigError("file", str(path), None, f"cannot be read: {exc.strerror}") from None
    data: dict[str, Any] = {}
    keys = known_keys()
    for section in parser.sections():
        if section.startswith(ENDPOINT_PREFIX):
            allowed_keys = list(EndpointSection.model_fields)
            for key, value in parser.items(section):
                if key not in allowed_keys:
                    known = f"unknown key (known in [{section}]: {', '.join(allowed_keys)})"
                    raise ConfigError(section, key, None, known)
                data.setdefault("endpoints", {}).setdefault(section[len(ENDPOINT_PREFIX) :], {})[key] = value
            continue
        if section not in keys:
            known = ", ".join([*keys, ENDPOINT_PREFIX + "NAME"])
            raise ConfigError(section, "*", None, f"unknown section (known: {known})")
        for key, value in parser.items(section):
            if key not in keys[section]:
                allowed = f"unknown key (known in [{section}]: {', '.join(keys[section])})"
                raise ConfigError(section, key, None, allowed)
            data.setdefault(section, {})[key] = value
    return data


NOT_SETTINGS = frozenset({"JIRA_DRIVER_URL", "JIRA_DRIVER_PARENT_FD", "JIRA_DRIVER_FAILPOINTS"})
"""JIRA_DRIVER_ variables that are not settings: the client commands' driver address, the demo's
watch of its parent, the tests' fault injection (driver.failpoints)."""


def _overlay_environment(data: dict[str, dict[str, str]], environ: Mapping[str, str]) -> None:
    """The JIRA_DRIVER_<SECTION>_<KEY> variables over the file's values. Raises ConfigError for a
    JIRA_DRIVER_ variable that is no setting (a misspelt one would be ignored in silence, and its
    effect, a 401 say, met later), naming the closest setting; never its value."""
    names: set[str] = set()
    for section, keys in known_keys().items():
        for key in keys:
            name = f"{ENV_PREFIX}{section}_{key}".upper()
            names.add(name)
            if name in environ:
                data.setdefault(section, {})[key] = environ[name]
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in names and name not in NOT_SETTINGS:
            # compared without the prefix all share, which would make every name close to one
            tails = sorted(known.removeprefix(ENV_PREFIX) for known in names | NOT_SETTINGS)
            close = difflib.get_close_matches(name.removeprefix(ENV_PREFIX), tails, n=1)
            hint = (
                f"did you mean {ENV_PREFIX}{close[0]}?"
                if close
                else "the form is JIRA_DRIVER_<SECTION>_<KEY>"
            )
            raise ConfigError("environment", name, None, f"not a setting ({hint})")


def quoted_values(config: Config) -> list[str]:
    """Warnings for the settings whose value is wrapped in quotes (`password = "s3cret"`): an INI
    value is taken as written, quotes included, so such a password is refused by Jira with no
    hint why. Names, never values; the [endpoint.*] sections are left out (a JSON body may well be
    a quoted string)."""
    found = []
    for section in SECTIONS:
        values = getattr(config, section)
        for key in type(values).model_fields:
            value = getattr(values, key)
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if isinstance(text, str) and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
                found.append(
                    f"[{section}] {key} is wrapped in quotes: an INI value is taken as written, the"
                    " quotes included; remove them unless they are part of it"
                )
    return found


def secret_keys() -> dict[str, list[str]]:
    """The keys whose values are secrets (SecretStr), by section."""
    found: dict[str, list[str]] = {}
    for name, model in SECTIONS.items():
        keys = [key for key, info in model.model_fields.items() if info.annotation is SecretStr]
        if keys:
            found[name] = keys
    return found


def config_file_in_use(path: Path | None) -> Path | None:
    """The file load_config(path) reads: path, else ./jira-driver.ini when present, else None."""
    if path is None and DEFAULT_CONFIG_FILE.is_file():
        return DEFAULT_CONFIG_FILE
    return path


def exposed_secrets_warning(path: Path | None) -> str | None:
    """A warning when the config file sets a secret and group or others may read it; else None.

    The text names the file and the keys (never their values) and says `chmod 600`.
    """
    if path is None:
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = _read_ini(path)
    except (OSError, ConfigError):
        return None
    if not mode & 0o077:
        return None
    held = [
        f"[{section}] {key}"
        for section, keys in secret_keys().items()
        for key in keys
        if data.get(section, {}).get(key, "").strip()
    ]
    if not held:
        return None
    return (
        f"{path} holds {', '.join(held)} and other users may read it (mode {mode:03o}):"
        f" run `chmod 600 {path}`, or move the secrets to JIRA_DRIVER_<SECTION>_<KEY> variables"
    )


def _redact_url(value: object) -> object:
    """A URL (or a scheme-less host) with any user:password@ part, and anything after a space
    (often a pasted secret), replaced, for error messages."""
    if not isinstance(value, str):
        return value
    value = without_credentials(value)  # first: a password may hold ? # or a space
    if any(c.isspace() for c in value):
        value = value.split()[0] + " [...]" if value.split() else ""
    if "?" in value or "#" in value:
        value = value.split("?")[0].split("#")[0] + "[?...]"
    return value


_PLAIN = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "greater_than_equal": "expected a number >= {ge}",
    "greater_than": "expected a number > {gt}",
    "less_than_equal": "expected a number <= {le}",
    "string_too_long": "expected at most {max_length} characters",
    "string_too_short": "expected at least {min_length} characters",
}
"""pydantic's error types in plain words ({name}: the error's context value of that name)."""

_PATTERNS = {
    "^[A-Za-z0-9-]*$": "expected only letters, digits and hyphens",
    r"^[\x21-\x7e]*$": "expected printable ASCII without spaces",
}
"""Plain words for the patterns config fields use (pydantic would print the regular expression)."""


def _describe(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind in _PLAIN:
        return _PLAIN[kind].format(**ctx)
    if kind in {"literal_error", "enum"}:
        expected = str(ctx.get("expected", "")).replace("'", "")
        # an enum whose first value is '' (e.g. [jira] auth: empty means "by the secrets set")
        return f"expected one of {expected}".replace("one of , ", "one of: empty, ")
    if kind.startswith(("date_", "datetime_")):
        return "expected a date as YYYY-MM-DD"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return _PATTERNS.get(pattern, f"expected text of the form {pattern}")
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load the configuration; without a path, ./jira-driver.ini when present, else defaults.

    Raises ConfigError naming the first bad section, key and value.
    """
    environ = os.environ if environ is None else environ
    if path is None and DEFAULT_CONFIG_FILE.is_file():
        path = DEFAULT_CONFIG_FILE
    data = _read_ini(path) if path is not None else {}
    _overlay_environment(data, environ)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        if loc[0] == "endpoints" and len(loc) > 1:
            # [endpoint.NAME] key, as the file spells it
            loc = [ENDPOINT_PREFIX + loc[1], *loc[2:]]
        section = loc[0]
        key = loc[1] if len(loc) > 1 else "*"
        value = data.get(section, {}).get(key, first.get("input"))
        if section.startswith(ENDPOINT_PREFIX):
            value = data.get("endpoints", {}).get(section[len(ENDPOINT_PREFIX) :], {}).get(key)
        if key in secret_keys().get(section, ()):
            value = "[secret]"
        elif key in {"url", "proxy", "database"}:
            value = _redact_url(value)
        raise ConfigError(section, key, value, _describe(dict(first))) from None
