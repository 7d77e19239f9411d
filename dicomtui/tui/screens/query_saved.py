"""Saved queries on the Query screen: S keeps the form in the config file, o picks one, fills the form and runs it."""

from __future__ import annotations

from ...config import ConfigError, SavedQuery
from ...dicom.validation import InvalidValue
from ..query_levels import COLUMNS
from ..widgets.query_form import QueryForm, preset_range
from .confirm import ConfirmScreen
from .query_modals import NameScreen, PickScreen


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
        if preset_range(preset) and preset != "any":  # relative: StudyDate is worked out each time it runs
            keys.pop("StudyDate", None)
        else:
            preset = None
        query = SavedQuery("", form.node_name, "study", keys, preset)

        def named(name: str | None) -> None:
            if not name:
                return
            query.name = name
            if self._config.query(name) is None:
                self._save_query(query, replace=False)
                return
            self.app.push_screen(ConfirmScreen(f"Replace the saved query {name!r}?", yes="Replace"),
                                 lambda yes: self._save_query(query, replace=True) if yes else None)

        self.app.push_screen(NameScreen("Save this query as", placeholder="e.g. CT today"), named)

    def _save_query(self, query: SavedQuery, *, replace: bool) -> None:
        try:
            self.app.config_file.add_query(query, replace=replace)
        except InvalidValue as exc:
            self.notify(str(exc), title="Not saved", severity="error", timeout=10)
        except ConfigError as exc:
            self.notify("the config file has problems: " + "; ".join(p.format(exc.path) for p in exc.problems),
                        title="Not saved", severity="error", timeout=10)
        except OSError as exc:
            self.notify(f"cannot write {self.app.config_file.path}: {exc.strerror}", title="Not saved",
                        severity="error", timeout=10)
        else:
            self.notify(f"Saved as {query.name!r} in {self.app.config_file.path}; o opens it.", title="Save query")

    def action_open_saved(self) -> None:
        queries = self._config.queries
        if not queries:
            self.notify("No saved queries yet: fill the form and press S to keep it.", title="Saved queries")
            return
        choices = [(str(i), f"{q.name}  ({q.node}, {q.level}{', ' + q.preset if q.preset else ''})")
                   for i, q in enumerate(queries)]
        self.app.push_screen(PickScreen("Open a saved query", choices, "enter runs it · esc closes"),
                             lambda picked: self._run_saved(queries[int(picked)]) if picked is not None else None)

    def _run_saved(self, query: SavedQuery) -> None:
        form = self.query_one(QueryForm)
        form.fill(query.node, query.keys, query.preset)
        if not form.validate_all():
            self.notify(f"The saved query {query.name!r} has a field the form refuses.", title="Saved queries",
                        severity="warning")
            return
        keys = dict(query.keys)
        date = preset_range(query.preset) if query.preset else None
        if date:
            keys["StudyDate"] = date
        elif date == "":
            keys.pop("StudyDate", None)
        if query.level.upper() not in COLUMNS:
            self.notify(f"The Query screen shows studies, series and instances, not {query.level} rows; "
                        f"run it with 'dicomtui find'.", title="Saved queries", severity="warning")
            return
        self._query(query.node, query.level.upper(), keys)
