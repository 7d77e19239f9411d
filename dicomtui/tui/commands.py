"""Command palette entries for the node actions, with the node named in each."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from .screens.nodes import NodesScreen


class ListedCommands(Provider):
    """A provider whose commands are a list of (title, callback, help) from `_commands()`."""

    def _commands(self) -> list[tuple[str, object, str]]:
        return []

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class NodeCommands(ListedCommands):
    def _commands(self) -> list[tuple[str, object, str]]:
        screen: NodesScreen = self.screen  # type: ignore[assignment]
        config = self.app.config_file.config  # type: ignore[attr-defined]
        editable = not self.app.config_file.problems  # type: ignore[attr-defined]
        commands: list[tuple[str, object, str]] = []
        if config.nodes:
            commands.append(("Echo all nodes", screen.action_echo_all, "C-ECHO every node at once"))
        if editable:
            commands.append(("Add node", screen.action_add_node, "Add a DICOM node to the config"))
        for node in config.nodes:
            commands.append((f"Echo node {node.name}", partial(screen.start_echo, node),
                             f"C-ECHO {node.address}"))
            commands.append((f"Copy echo command for {node.name}", partial(screen.copy_command, node),
                             f"C-ECHO {node.address} as a dicomtui or an echoscu command line"))
            if editable:
                commands.append((f"Edit node {node.name}", partial(self._edit, node.name),
                                 f"Change {node.address}"))
                commands.append((f"Delete node {node.name}", partial(self._delete, node.name),
                                 f"Remove {node.address} from the config"))
        return commands

    def _select(self, name: str) -> None:
        from textual.widgets import DataTable

        table = self.screen.query_one(DataTable)
        if name in table.rows:
            table.move_cursor(row=table.get_row_index(name))

    def _edit(self, name: str) -> None:
        self._select(name)
        self.screen.action_edit_node()  # type: ignore[attr-defined]

    def _delete(self, name: str) -> None:
        self._select(name)
        self.screen.action_delete_node()  # type: ignore[attr-defined]

