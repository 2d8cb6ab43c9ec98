"""jira-driver: turns monitoring alarms into Jira tickets.

The package root imports nothing heavy, so `import driver` stays cheap for the CLI and the UI.
"""

__version__ = "0.1.0"
