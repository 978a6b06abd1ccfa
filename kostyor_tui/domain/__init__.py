"""Pure Kostyor knowledge, no I/O: what a status means, which action is valid when,
the engine's order, and what a fleet's data says (progress, versions, ETA).

The client, the console, the headless mode and the embedded server all use it,
so each rule is written once (docs/kostyor-api.md#lifecycle). It imports only
the standard library.
"""
