"""The Worklist screen's form: which node, and the filters a modality sets (date, station, modality, patient).

Each field is checked as it is typed with the engine's own checks, so the form says exactly what
`dicomtui worklist` would say of the same value.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select, Static

from ...config import LOCAL_NODE
from ...engine.loading import import_engine
from ..validators import Check
from .checked_form import CheckedForm

# (Select label, value); the values are what WorklistRequest.date and [[worklist_presets]] date take.
DATES = [("any date", "any"), ("today", "today"), ("tomorrow", "tomorrow"), ("this week", "week"),
         ("custom", "custom")]
PRESET_DATES = {"today", "tomorrow", "week"}
# (field id, label, placeholder). Each placeholder reads as a hint ("e.g."), not as a value already set: in a
# plain capture of the screen, or a terminal without dim text, "CT" alone looked like a filter in force.
FIELDS = [("date", "Date", "YYYYMMDD or a range"), ("station", "Station", "AE title, e.g. CT01"),
          ("modality", "Mod", "e.g. CT"), ("patient", "Patient", "name, e.g. SMITH*")]
LABELS = {field: label for field, label, _p in FIELDS}


@dataclass(frozen=True)
class Filters:
    """What the form asks, as the engine's WorklistRequest and a preset take it."""

    node: str  # a node's name, or LOCAL_NODE
    date: str = ""  # "", a preset word, or a date or range as typed
    station: str = ""
    modality: str = ""
    patient: str = ""


def _request_check(field: str):
    """The engine's check for one field; InvalidValue carries the CLI's sentence."""

    def check(value: str) -> None:
        engine = import_engine("dicomtui.engine.worklist_request")
        if field == "date":
            engine.resolve_date(value, what="the date")
        else:
            engine.WorklistRequest(**{"modality" if field == "modality" else "station": value})

    return check


class WorklistForm(CheckedForm):
    """Posts WorklistForm.Submitted when the user presses enter in any field."""

    PREFIX = "wl-"
    LABELS = LABELS

    def compose(self) -> ComposeResult:
        with Horizontal(classes="q-row"):
            yield Label("Node", classes="q-label")
            yield Select(self._node_options(), value=LOCAL_NODE, allow_blank=False, id="wl-node", compact=True,
                         tooltip="The worklist server (RIS) to ask, or this machine's own worklist")
            yield Label("Date", classes="q-label")
            yield Select(DATES, value="today", allow_blank=False, id="wl-preset", compact=True,
                         tooltip="Scheduled start date; presets are worked out again at every refresh")
            yield self._input("date")
        with Horizontal(classes="q-row"):
            for field in ("station", "modality", "patient"):
                yield Label(LABELS[field], classes="q-label")
                yield self._input(field)
        yield Static(id="wl-error")

    def _node_options(self) -> list[tuple[str, str]]:
        return [(LOCAL_NODE, LOCAL_NODE)] + [(n, n) for n in self._node_names if n.casefold() != LOCAL_NODE]

    def _input(self, field: str) -> Input:
        placeholder = next(p for f, _l, p in FIELDS if f == field)
        validators = [Check(_request_check(field), optional=True)] if field != "patient" else []
        return Input(placeholder=placeholder, id=f"wl-{field}", compact=True, validate_on=["changed", "submitted"],
                     validators=validators, valid_empty=True)

    # -- values -------------------------------------------------------------------------------------
    def filters(self) -> Filters:
        preset = str(self.query_one("#wl-preset", Select).value)
        typed = self._value("date")
        date = preset if preset in PRESET_DATES else typed if preset == "custom" else ""
        return Filters(str(self.query_one("#wl-node", Select).value), date, self._value("station"),
                       self._value("modality").upper(), self._value("patient"))

    def _value(self, field: str) -> str:
        return self.query_one(f"#wl-{field}", Input).value.strip()

    def fill(self, filters: Filters) -> None:
        """Show saved filters: the node (when it still exists), the date as a preset or typed, the rest."""
        names = {value.casefold(): value for _label, value in self._node_options()}
        if filters.node.casefold() in names:
            self.query_one("#wl-node", Select).value = names[filters.node.casefold()]
        date = filters.date.strip()
        preset = date.lower() if date.lower() in PRESET_DATES else "custom" if date and date != "any" else "any"
        self.query_one("#wl-preset", Select).value = preset
        date_input = self.query_one("#wl-date", Input)
        with date_input.prevent(Input.Changed):
            date_input.value = date if preset == "custom" else ""
        for field, value in (("station", filters.station), ("modality", filters.modality),
                             ("patient", filters.patient)):
            self.query_one(f"#wl-{field}", Input).value = value
        self.validate_all()

    def set_nodes(self, names: list[str]) -> None:
        select = self.query_one("#wl-node", Select)
        current = str(select.value)
        self._node_names = names
        select.set_options(self._node_options())
        select.value = current if current in {v for _l, v in self._node_options()} else LOCAL_NODE

    def set_date(self, preset: str) -> None:
        """Choose a date preset (any, today, tomorrow, week)."""
        self.query_one("#wl-preset", Select).value = preset

    def checked(self, title: str) -> bool:
        """Every field valid; else the first error in a notification titled `title`, and False."""
        if self.validate_all():
            return True
        self.notify(self.first_error or "Correct the highlighted field first.", title=title, severity="warning")
        return False

    def field_changed(self, field: str, value: str) -> None:
        if field == "date" and value.strip():  # a date typed: the preset is "custom" now
            preset = self.query_one("#wl-preset", Select)
            if preset.value != "custom":
                with preset.prevent(Select.Changed):
                    preset.value = "custom"

    @on(Select.Changed, "#wl-preset")
    def _preset(self, event: Select.Changed) -> None:
        event.stop()
        if event.value != "custom":
            date = self.query_one("#wl-date", Input)
            with date.prevent(Input.Changed):
                date.value = ""
            self._record("date", None)
            self._show_errors()
