"""The driver's application object and services, between the HTTP routes and the parts.

- driver: `build(config, *, clock, timer, transport, tuning) -> Driver`, the one place the parts are
  wired; `Driver` (prepare, start, stop, accept, execute, status, ...) and `Tuning`
- intake: `check_lines`, `manual_entry`, `commit`: the one way work enters (through Driver.accept)
- settings: `RuntimeSettings`, the run-time settings (load, validate, persist, push)
- precedence: `reconcile`, at start, the config file's value or the one set at run time
- metadata: `detect`, `refresh_catalog`: Jira's flavour and field list, read and kept
- upkeep: the background loops: metadata until Jira answers, retention, the log's trimmer
"""
