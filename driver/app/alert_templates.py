"""The templates that make an alert's fields ([alertmanager] / [grafana] summary, description,
fields): Jinja2 in an immutable sandbox (a template cannot reach Python's internals, nor change a
list or dict it is given: the alerts of a notification are one context all its alerts' templates
share), undefined names an error rather than an empty string, compiled once at start so a bad one
stops the start with its name and line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from driver.config import AlertSection, Config
from driver.errors import ConfigError
from driver.model.alert_intake import DEFAULT_TEMPLATES, AlertSettings, TemplateFailed

MAX_RENDERED = 100_000
"""Characters one rendered field may have before it is cut (the shaping then cuts to Jira's limits)."""


class AlertTemplates:
    """One section's compiled templates; `render` is the alert model's renderer."""

    def __init__(self, section_name: str, section: AlertSection) -> None:
        self.environment = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        sources = section.templates()
        self.compiled = {}
        for name, source in sources.items():
            text = source or DEFAULT_TEMPLATES.get(name, "")
            try:
                self.compiled[name] = self.environment.from_string(text)
            except TemplateSyntaxError as exc:
                key = name if name in ("summary", "description") else "fields"
                raise ConfigError(
                    section_name, key, None, f"template {name!r}, line {exc.lineno}: {exc.message}"
                ) from None
        self.settings = AlertSettings(
            ticket_per=section.ticket_per,
            severity_label=section.severity_label,
            priorities=section.priority_map(),
            fields=tuple(self.compiled),
        )

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """The field's value for this alert. Raises TemplateFailed (an undefined name, a refused
        operation, any error the template meets)."""
        try:
            text = self.compiled[name].render(**context)
        except TemplateError as exc:
            raise TemplateFailed(name, str(exc) or type(exc).__name__) from None
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
            raise TemplateFailed(name, f"{type(exc).__name__}: {exc}") from None
        return text.strip()[:MAX_RENDERED]


def compile_all(config: Config) -> dict[str, AlertTemplates]:
    """The templates of [alertmanager] and [grafana], compiled: the driver's, and what `run` and
    `check` try before anything else (a bad template refused before the database is touched).
    Raises ConfigError naming the section, the key and the template's line."""
    return {
        "alertmanager": AlertTemplates("alertmanager", config.alertmanager),
        "grafana": AlertTemplates("grafana", config.grafana),
    }
