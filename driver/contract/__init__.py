"""The HTTP API's contract, shared by the driver's routes, the shell and the TUI.

- schemas: every request and answer body (pydantic), with the bounds of each input
- client: `DriverClient`, the API's async client, and `driver_url`
"""
