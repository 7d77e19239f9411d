"""Saved queries on the Query screen: S keeps the form in the config file, o picks one, fills the form and
runs it, d in that list deletes one."""

from __future__ import annotations

from collections.abc import Callable

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
        if form.level == "study" and preset_range(preset) and preset != "any":
            keys.pop("StudyDate", None)  # relative: StudyDate is worked out each time it runs
        else:
            preset = None
        query = SavedQuery("", form.node_name, form.level, keys, preset)

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
        if self._change_config("Not saved", lambda config: config.add_query(query, replace=replace)):
            self.notify(f"Saved as {query.name!r} in {self.app.config_file.path}; o opens it.", title="Save query")

    def _change_config(self, failed: str, change: Callable) -> bool:
        """Run `change(config_file)`; say why in a notification when it cannot be done."""
        try:
            change(self.app.config_file)
        except InvalidValue as exc:
            self.notify(str(exc), title=failed, severity="error", timeout=10)
        except ConfigError as exc:
            self.notify("the config file has problems: " + "; ".join(p.format(exc.path) for p in exc.problems),
                        title=failed, severity="error", timeout=10)
        except OSError as exc:
            self.notify(f"cannot write {self.app.config_file.path}: {exc.strerror}", title=failed,
                        severity="error", timeout=10)
        else:
            return True
        return False

    def action_open_saved(self) -> None:
        queries = self._config.queries
        if not queries:
            self.notify("No saved queries yet: fill the form and press S to keep it.", title="Saved queries")
            return
        choices = [(str(i), f"{q.name}  ({q.node}, {q.level}{', ' + q.preset if q.preset else ''})")
                   for i, q in enumerate(queries)]

        def delete(picker: PickScreen, ident: str) -> None:
            query = queries[int(ident)]

            def answered(yes: bool | None) -> None:
                if yes and self._delete_query(query):
                    picker.remove_choice(ident)

            self.app.push_screen(ConfirmScreen(f"Delete the saved query {query.name!r}?", yes="Delete"), answered)

        self.app.push_screen(PickScreen("Open a saved query", choices, "enter runs it · d deletes it · esc closes",
                                        on_delete=delete),
                             lambda picked: self._run_saved(queries[int(picked)]) if picked is not None else None)

    def _delete_query(self, query: SavedQuery) -> bool:
        if self._change_config("Not deleted", lambda config: config.remove_query(query.name)):
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
