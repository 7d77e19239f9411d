"""Saved queries on the Query screen: S keeps the form in the config file, o picks one, fills the form and
runs it, d in that list deletes one."""

from __future__ import annotations

from ...config import SavedQuery
from ..query_levels import COLUMNS
from ..widgets.query_form import QueryForm, preset_range
from .saved_entries import change_config, pick_saved, save_named


class SavedQueries:
    """Mixed into QueryScreen, which provides `_config` and `_query(node, level, keys)`."""

    def action_save_query(self) -> None:
        form = self.query_one(QueryForm)
        if not form.validate_all():
            self.notify("Correct the highlighted field first.", title="Save query", severity="warning")
            return
        if not form.node_name:
            self.notify("Choose a node first.", title="Save query", severity="warning")
            return
        keys, preset = form.keys(), form.preset
        if form.level == "study" and preset_range(preset) and preset != "any":
            keys.pop("StudyDate", None)  # relative: StudyDate is worked out each time it runs
        else:
            preset = None
        query = SavedQuery("", form.node_name, form.level, keys, preset)

        def save(name: str, replace: bool) -> None:
            query.name = name
            self._save_query(query, replace=replace)

        save_named(self, "Save this query as", "e.g. CT today", "saved query",
                   lambda name: self._config.query(name) is not None, save)

    def _save_query(self, query: SavedQuery, *, replace: bool) -> None:
        if change_config(self, "Not saved", lambda config: config.add_query(query, replace=replace)):
            self.notify(f"Saved as {query.name!r} in {self.app.config_file.path}; o opens it.", title="Save query")

    def action_open_saved(self) -> None:
        queries = self._config.queries
        if not queries:
            self.notify("No saved queries yet: fill the form and press S to keep it.", title="Saved queries")
            return
        entries = [(q.name, f"{q.name}  ({q.node}, {q.level}{', ' + q.preset if q.preset else ''})")
                   for q in queries]
        pick_saved(self, "Open a saved query", entries, "saved query", lambda i: self._run_saved(queries[i]),
                   lambda i: self._delete_query(queries[i]))

    def _delete_query(self, query: SavedQuery) -> bool:
        if change_config(self, "Not deleted", lambda config: config.remove_query(query.name)):
            self.notify(f"Deleted {query.name!r} from {self.app.config_file.path}.", title="Saved queries")
            return True
        return False

    def _run_saved(self, query: SavedQuery) -> None:
        form = self.query_one(QueryForm)
        form.fill(query.node, query.keys, query.preset, query.level)
        if not form.validate_all():
            self.notify(f"The saved query {query.name!r} has a field the form refuses.", title="Saved queries",
                        severity="warning")
            return
        keys = dict(query.keys)
        date = preset_range(query.preset) if query.preset and query.level == "study" else None
        if date:
            keys["StudyDate"] = date
        elif date == "":
            keys.pop("StudyDate", None)
        if query.level.upper() not in COLUMNS:
            self.notify(f"The Query screen does not show {query.level} rows; run it with 'dicomtui find'.",
                        title="Saved queries", severity="warning")
            return
        self._query(query.node, query.level.upper(), keys)
