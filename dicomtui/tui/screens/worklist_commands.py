"""Command palette entries for the worklist: from any screen (go to the Worklist screen, run a preset) and, on
the Worklist screen, every action and each saved preset by name."""

from __future__ import annotations

from functools import partial

from ..commands import ListedCommands
from .worklist_presets import describe


class WorklistAppCommands(ListedCommands):
    """On every screen: reach the Worklist screen, or run a saved preset there."""

    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        commands: list[tuple[str, object, str]] = [
            ("Worklist", partial(app.switch_mode, "worklist"), "Show what is scheduled (key 5)")]
        if getattr(self.screen, "SECTION_ID", "") != "worklist":  # there, the screen lists them itself
            for preset in app.config_file.config.worklist_presets:  # type: ignore[attr-defined]
                commands.append((f"Worklist preset {preset.name}", partial(self._run, app, preset.name),
                                 describe(preset)))
        return commands

    @staticmethod
    def _run(app, name: str) -> None:
        app.switch_mode("worklist")
        preset = app.config_file.config.worklist_preset(name)
        if preset is not None:
            app.call_after_refresh(lambda: app.screen.run_preset(preset))


class WorklistCommands(ListedCommands):
    """On the Worklist screen."""

    def _commands(self) -> list[tuple[str, object, str]]:
        screen = self.screen
        commands: list[tuple[str, object, str]] = [
            ("Run worklist query", screen.action_run_query, "Ask the node with the form's filters"),
            ("Refresh worklist", screen.action_refresh, "Ask again and highlight what changed"),
            ("Auto-refresh on/off", screen.action_toggle_auto,
             "Refresh on an interval (the config's worklist refresh_seconds)"),
            ("Worklist for today", partial(screen.run_date, "today"), "Set the date to today and ask"),
            ("Worklist for tomorrow", partial(screen.run_date, "tomorrow"), "Set the date to tomorrow and ask"),
            ("Worklist for this week", partial(screen.run_date, "week"), "Monday to Sunday"),
            ("Filter worklist rows", screen.action_filter, "Show only rows containing a text"),
            ("Sort worklist by next column", screen.action_sort, "Cycle the sort column"),
            ("Worklist details", screen.action_toggle_detail, "Enlarge the attribute pane, or shrink it"),
            ("Export worklist as CSV", screen.action_export, "Save the shown rows in the data folder"),
            ("Export worklist as JSON", screen.action_export_json, "As 'dicomtui worklist --json' prints them"),
            ("Save worklist preset", screen.action_save_preset, "Keep the node and filters in the config file"),
            ("Open worklist preset", screen.action_open_preset, "Pick a saved preset and run it"),
            ("Stop worklist query", screen.action_stop, "Cancel the query under way"),
            ("Worklist filters", screen.action_edit_form, "Back to the node and the filters"),
            ("Copy worklist query as a command", screen.action_copy_command,
             "As 'dicomtui worklist' or dcmtk findscu -W would ask it"),
            ("Log of this node's worklist queries", screen.action_log, "What went over the wire"),
        ]
        for preset in screen._config.worklist_presets:
            commands.append((f"Worklist preset {preset.name}", partial(screen.run_preset, preset), describe(preset)))
        return commands
