"""Every action of every screen is in the command palette, with the highlighted row named where it acts on it."""

from __future__ import annotations

import pytest

from dicomtui.tui.commands import screen_actions
from dicomtui.tui.sections import sections

from .test_nodes_flow import wait_for

NAVIGATION = (".back", ".cancel", ".close")


def _ids_of(screen) -> dict[str, str]:
    found = {}
    for cls in type(screen).__mro__:
        if cls.__module__.startswith("dicomtui."):
            for binding in cls.__dict__.get("BINDINGS", []):
                if binding.id and not binding.id.endswith(NAVIGATION):
                    found.setdefault(binding.id, binding.description)
    return found


@pytest.mark.parametrize("section", [s.id for s in sections()])
async def test_each_screens_keys_are_palette_commands(make_app, section):
    app = make_app('[[nodes]]\nname = "archive"\nae_title = "ARCHIVE"\nhost = "127.0.0.1"\nport = 104\n')
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(next(s.key for s in sections() if s.id == section))
        await pilot.pause(0.2)
        titles = [title for title, _callback, _help in screen_actions(app.screen, app)]
        wanted = _ids_of(app.screen)
        assert len(wanted) >= 2
        for description in wanted.values():
            assert any(title.startswith(f"{description} (") for title in titles), (description, titles)
        assert "Mask PHI (app)" in titles and "Log (app)" in titles


async def test_a_row_action_runs_from_the_palette_naming_the_row(make_app, storescp):
    app = make_app(f'[[nodes]]\nname = "archive"\nae_title = "{storescp.ae_title}"\nhost = "127.0.0.1"\n'
                   f"port = {storescp.port}\n")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        assert "Echo (Nodes: archive)" in [t for t, _c, _h in screen_actions(app.screen, app)]
        await pilot.press("ctrl+p")
        await pilot.press(*"Echo (Nodes: archive)")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "archive" in app.screen._records and app.screen._records["archive"].ok)
        await pilot.press("ctrl+p")
        await pilot.press(*"Mask PHI")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.phi_masked)
