"""The TUI's pages, one module each: Ticket Creation, Log, Statistics, Configuration (on DriverPage)."""
