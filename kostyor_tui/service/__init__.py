"""The console's shared API service: one poller, snapshots and events, and every command.

`api_service` is the Textual side (reactive state, the poll worker); `poller`,
`snapshots`, `events` and `connection` are plain modules, testable without a
terminal or a server.
"""

from kostyor_tui.service.api_service import ApiService, service_of

__all__ = ["ApiService", "service_of"]
