"""[keymap]: the user's keys for dicomtui's bindings, by binding id ("transfers.pause" = "P").

Every binding of dicomtui's own has an id (screens, dialogs, widgets); Textual's App.set_keymap
then replaces that binding's keys wherever it is. Ids the config names that no binding has are
reported, not silently ignored: a typo would otherwise look like a key that does not work.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.dom import DOMNode


def known_bindings() -> dict[str, Binding]:
    """Every dicomtui binding that has an id, by id (from the classes imported so far: the app imports all
    its screens)."""
    found: dict[str, Binding] = {}
    seen: set[type] = set()

    def walk(cls: type) -> None:
        for sub in cls.__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            if sub.__module__.startswith("dicomtui."):
                for binding in sub.__dict__.get("BINDINGS", []):
                    if isinstance(binding, Binding) and binding.id:
                        found.setdefault(binding.id, binding)
            walk(sub)

    walk(DOMNode)
    return found


def split_keymap(keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(the overrides for bindings that exist, the ids that name none)."""
    known = known_bindings()
    return ({ident: keys for ident, keys in keymap.items() if ident in known},
            sorted(ident for ident in keymap if ident not in known))
