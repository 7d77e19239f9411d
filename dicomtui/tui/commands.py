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
            commands.append((f"Log of {node.name}'s echoes", partial(screen.show_log, node),
                             f"The associations of the echoes of {node.address}, what went over the wire"))
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



# Keys that only move around (closing a filter, leaving a form): not actions worth a palette entry.
_NAVIGATION = (".back", ".cancel", ".close")


def screen_actions(screen, app) -> list[tuple[str, object, str]]:
    """Every key of `screen` (its classes' bindings), and the app's own, as palette commands.

    Actions on the highlighted row name it, from the screen's `palette_context()`, so the palette reads
    "Echo (Nodes: archive)"; the rest just name their screen."""
    from .sections import sections

    titles = {s.id: s.title for s in sections()}
    section = titles.get(getattr(screen, "SECTION_ID", ""), type(screen).__name__.removesuffix("Screen"))
    context = getattr(screen, "palette_context", lambda: "")() or ""
    found: list[tuple[str, object, str]] = []
    seen: set[str] = set()
    for cls in type(screen).__mro__:
        if not cls.__module__.startswith("dicomtui."):
            continue
        for binding in cls.__dict__.get("BINDINGS", []):
            ident = getattr(binding, "id", None) or ""
            if not ident or ident in seen or ident.endswith(_NAVIGATION):
                continue
            seen.add(ident)
            tooltip = binding.tooltip or binding.description
            on_row = context and any(word in tooltip for word in ("selected", "highlighted"))
            where = f"{section}: {context}" if on_row else section
            found.append((f"{binding.description} ({where})", partial(screen.run_action, binding.action), tooltip))
    for binding in type(app).BINDINGS:
        ident = getattr(binding, "id", "") or ""
        if ident in ("app.phi", "app.reload") or ident.startswith("app.section."):
            found.append((f"{binding.description} (app)", partial(app.run_action, binding.action),
                          binding.tooltip or binding.description))
    return found


class ScreenActions(ListedCommands):
    """The palette's share of "every action of every screen": the keys of the screen it was opened on."""

    def _commands(self) -> list[tuple[str, object, str]]:
        return screen_actions(self.screen, self.app)
