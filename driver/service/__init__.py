"""The driver's process.

- process: `serve` and `build`: start-up order (the database lock, the port, then the store),
  signals, logging (repeats held back)
- connection_guard: the API's connection bound, head and body deadlines, the open-file limit
- parent_watch: a demo's child stops when its parent is gone
"""
