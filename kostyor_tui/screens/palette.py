"""The command palette's provider: every command of the registry, done the console's way."""

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from kostyor_tui.commands import COMMANDS
from kostyor_tui.widgets.requests import CommandRequested


class KostyorCommands(Provider):
    """One hit per registry command; choosing one asks the app to run it."""

    def _entries(self) -> list[tuple[str, str]]:
        return [(command.name, command.summary) for command in COMMANDS.values()]

    def _run(self, name: str) -> None:
        self.app.post_message(CommandRequested(name))

    async def discover(self) -> Hits:
        for name, summary in self._entries():
            yield DiscoveryHit(name, partial(self._run, name), help=summary)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, summary in self._entries():
            score = max(matcher.match(name), matcher.match(summary) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, name), help=summary)
