"""The driver's application services, between the HTTP routes and the engine.

- intake: `accept_lines`, `accept_manual`, `check_lines`: the one way work enters
- settings: `RuntimeSettings`, the run-time settings (load, validate, persist, push)
- metadata: `detect`, `refresh_catalog`: Jira's flavour and field list, read and kept
"""
