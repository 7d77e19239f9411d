"""Station presets on the Worklist screen: S keeps the form ("as station X") in the config file's
[[worklist_presets]], o picks one, fills the form and runs it, d in that list deletes one."""

from __future__ import annotations

from ...config import WorklistPreset
from ..widgets.worklist_form import Filters, WorklistForm
from .saved_entries import change_config, pick_saved, save_named

TITLE = "Worklist presets"


def describe(preset: WorklistPreset) -> str:
    parts = [preset.node, preset.station and f"as {preset.station}", preset.modality,
             {"week": "this week"}.get(preset.date, preset.date)]
    return f"{preset.name}  ({', '.join(p for p in parts if p)})"


class WorklistPresets:
    """Mixed into WorklistScreen, which provides `_config` and `run_filters(filters)`."""

    def action_save_preset(self) -> None:
        form = self.query_one(WorklistForm)
        if not form.checked("Save preset"):
            return
        filters = form.filters()
        suggestion = " ".join(p for p in (filters.station, {"week": "this week"}.get(filters.date, filters.date)) if p)

        def save(name: str, replace: bool) -> None:
            preset = WorklistPreset(name, filters.node, filters.station, filters.modality, filters.date)
            if change_config(self, "Not saved",
                             lambda config: config.add_worklist_preset(preset, replace=replace)):
                self.notify(f"Saved as {preset.name!r} in {self.app.config_file.path}; o opens it.", title=TITLE)

        save_named(self, "Save these filters as a preset", f"e.g. {suggestion or 'CT01 today'}", "worklist preset",
                   lambda name: self._config.worklist_preset(name) is not None, save)

    def action_open_preset(self) -> None:
        presets = self._config.worklist_presets
        if not presets:
            self.notify("No presets yet: set the node and filters, then press S to keep them.", title=TITLE)
            return
        # Numbered: the daily check is o and a digit (or the preset's name in the command palette, anywhere).
        pick_saved(self, "Open a worklist preset", [(p.name, describe(p)) for p in presets], "worklist preset",
                   lambda i: self.run_preset(presets[i]), lambda i: self._delete_preset(presets[i]), numbered=True)

    def run_preset(self, preset: WorklistPreset) -> None:
        filters = Filters(preset.node, preset.date, preset.station, preset.modality)
        self.query_one(WorklistForm).fill(filters)
        self.run_filters(filters)

    def _delete_preset(self, preset: WorklistPreset) -> bool:
        if change_config(self, "Not deleted", lambda config: config.remove_worklist_preset(preset.name)):
            self.notify(f"Deleted {preset.name!r} from {self.app.config_file.path}.", title=TITLE)
            return True
        return False
