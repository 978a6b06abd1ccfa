"""What a widget or a screen asks the app to do: messages that bubble up to `KostyorApp`,
which owns the screens and runs the commands."""

from textual.message import Message

from kostyor_tui.domain.lifecycle import Action


class UpgradeViewRequested(Message):
    """Open the upgrade view of a cluster."""

    def __init__(self, cluster_id: str) -> None:
        super().__init__()
        self.cluster_id = cluster_id


class StartUpgradeRequested(Message):
    """Open the start-upgrade dialog for a cluster."""

    def __init__(self, cluster_id: str) -> None:
        super().__init__()
        self.cluster_id = cluster_id


class ActionRequested(Message):
    """Send an action to a cluster's upgrade (after a confirmation, where one is due)."""

    def __init__(self, cluster_id: str, action: Action) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self.action = action


class CommandRequested(Message):
    """Run a command of the registry, the console's way (from the command palette)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class FleetRequested(Message):
    """Open the view of every profile (from the command palette)."""
