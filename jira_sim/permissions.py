"""Project permissions a test takes away and create screens it narrows (POST /_sim/permissions,
/_sim/screens), as Jira's permission schemes and screen schemes would: what `GET mypermissions`
answers, what createmeta lists, and what writes refuse. Reset clears them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERMISSION_NAMES = {
    "BROWSE_PROJECTS": ("10", "Browse Projects"),
    "CREATE_ISSUES": ("11", "Create Issues"),
    "EDIT_ISSUES": ("12", "Edit Issues"),
    "ADD_COMMENTS": ("15", "Add Comments"),
    "TRANSITION_ISSUES": ("46", "Transition Issues"),
    "RESOLVE_ISSUES": ("14", "Resolve Issues"),
    "ASSIGN_ISSUES": ("13", "Assign Issues"),
    "CLOSE_ISSUES": ("18", "Close Issues"),
}
"""Project permission keys the simulator knows: id and name as Jira lists them."""


@dataclass(frozen=True)
class Screen:
    """A create screen narrowed: fields it lacks, and fields it requires beyond Jira's own."""

    hidden: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()


@dataclass
class ProjectRules:
    """Denied permissions by (user, project or '' for all) and screens by (project, type or '')."""

    denied: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    screens: dict[tuple[str, str], Screen] = field(default_factory=dict)

    def reset(self) -> None:
        self.denied.clear()
        self.screens.clear()

    def has(self, user: str, project: str, key: str, no_create: frozenset[str] = frozenset()) -> bool:
        """Whether `user` holds permission `key` in `project` (UserSpec.no_create: CREATE_ISSUES denied)."""
        if key == "CREATE_ISSUES" and project.upper() in no_create:
            return False
        user = user.lower()
        return key not in self.denied.get((user, ""), frozenset()) | self.denied.get(
            (user, project.upper()), frozenset()
        )

    def screen(self, project: str, issue_type: str) -> Screen:
        """The create screen of this project and issue type (name)."""
        return self.screens.get((project.upper(), issue_type.casefold())) or self.screens.get(
            (project.upper(), ""), Screen()
        )
