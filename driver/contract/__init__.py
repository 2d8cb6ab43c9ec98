"""The HTTP API's contract, shared by the driver's routes, the shell and the TUI.

- schemas: every request and answer body (pydantic), with the bounds of each input
- tickets: the bodies of GET /api/tickets/{guid} (a GUID's ticket, its history and alarm)
- client: `DriverClient`, the API's async client, and `driver_url`
"""
