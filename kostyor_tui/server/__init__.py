"""The embedded Kostyor-compatible server: the REST API of `kostyor-api.md` over SQLite,
with a simulated upgrade engine. It imports nothing from the client or the TUI.

`runner` starts it (`start_in_background`, `serve`); `cli` is `kostyor-tui serve`.
"""
