"""The Query screen's form: node picker and matching keys, each checked inline with the engine's parse_key."""

from __future__ import annotations

import datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select, Static

from ...engine.loading import import_engine
from ..validators import Check
from .checked_form import CheckedForm

# (field id, DICOM keyword, label, placeholder)
FIELDS = [
    ("patient", "PatientName", "Patient", "name, e.g. SMITH*"),
    ("pid", "PatientID", "ID", "patient ID"),
    ("date", "StudyDate", "Date", "date or range"),
    ("modality", "ModalitiesInStudy", "Mod", "e.g. CT"),
    ("accession", "AccessionNumber", "Acc", "accession"),
    ("description", "StudyDescription", "Desc", "description"),
]
LABELS = {f: label for f, _k, label, _p in FIELDS}
PATIENT_FIELDS = ("patient", "pid")  # the rest match studies and do not apply to a patient-level query
LEVELS = [("studies", "study"), ("patients", "patient")]
PRESETS = [("any date", "any"), ("today", "today"), ("yesterday", "yesterday"), ("last 7 days", "7d"),
           ("last 30 days", "30d"), ("custom", "custom")]


def preset_range(preset: str, today: datetime.date | None = None) -> str | None:
    """The StudyDate value for a preset ("" for any), None for custom."""
    today = today or datetime.date.today()
    day = datetime.timedelta(days=1)
    fmt = "%Y%m%d"
    if preset == "any":
        return ""
    if preset == "today":
        return today.strftime(fmt)
    if preset == "yesterday":
        return (today - day).strftime(fmt)
    if preset in ("7d", "30d"):
        days = 7 if preset == "7d" else 30
        return f"{(today - (days - 1) * day).strftime(fmt)}-{today.strftime(fmt)}"
    return None


def key_check(keyword: str):
    """A check for one field: parse_key raises InvalidValue with the CLI's own sentence."""

    def check(value: str) -> None:
        import_engine("dicomtui.engine.query_keys").parse_key(f"{keyword}={value}")

    return check


class QueryForm(CheckedForm):
    """Posts QueryForm.Submitted when the user presses enter in any field."""

    PREFIX = "q-"
    LABELS = LABELS

    def compose(self) -> ComposeResult:
        with Horizontal(classes="q-row"):
            yield Label("Node", classes="q-label")
            yield self._node_select()
            yield Select(LEVELS, value="study", allow_blank=False, id="q-level", compact=True,
                         tooltip="Query studies, or patients (enter on a patient lists their studies)")
            for field, keyword, label, placeholder in FIELDS[:2]:
                yield Label(label, classes="q-label")
                yield self._input(field, keyword, placeholder)
        with Horizontal(classes="q-row"):
            yield Label("Date", classes="q-label")
            yield Select(PRESETS, value="any", allow_blank=False, id="q-preset", compact=True,
                         tooltip="Study date preset; or type a date or range in the next field")
            for field, keyword, label, placeholder in FIELDS[2:]:
                if field != "date":
                    yield Label(label, classes="q-label")
                yield self._input(field, keyword, placeholder)
        yield Static(id="q-error")

    def _node_select(self) -> Select:
        names = self._node_names
        return Select([(n, n) for n in names], value=names[0] if names else Select.NULL, allow_blank=not names,
                      prompt="no nodes", id="q-node", compact=True, tooltip="The archive to query")

    def _input(self, field: str, keyword: str, placeholder: str) -> Input:
        return Input(placeholder=placeholder, id=f"q-{field}", compact=True, validate_on=["changed", "submitted"],
                     validators=[Check(key_check(keyword), optional=True)], valid_empty=True)

    # -- values -----------------------------------------------------------------------------------------
    @property
    def node_name(self) -> str | None:
        value = self.query_one("#q-node", Select).value
        return value if isinstance(value, str) else None

    def set_nodes(self, names: list[str]) -> None:
        select = self.query_one("#q-node", Select)
        current = self.node_name
        self._node_names = names
        select.set_options([(n, n) for n in names])
        if names:
            select.value = current if current in names else names[0]

    @property
    def level(self) -> str:
        """"study" or "patient"."""
        return str(self.query_one("#q-level", Select).value)

    def _fields(self) -> list[tuple[str, str, str, str]]:
        """The fields that apply at the chosen level."""
        return [f for f in FIELDS if self.level == "study" or f[0] in PATIENT_FIELDS]

    def keys(self) -> dict[str, str]:
        """Keyword -> value of the filled fields that apply (as typed, stripped)."""
        out = {}
        for field, keyword, _label, _p in self._fields():
            value = self.query_one(f"#q-{field}", Input).value.strip()
            if value:
                out[keyword] = value
        return out

    @property
    def preset(self) -> str:
        return str(self.query_one("#q-preset", Select).value)

    def fill(self, node: str, keys: dict[str, str], preset: str | None, level: str = "study") -> None:
        """Show a saved query: its node, its level, its keys in their fields, its date preset (or the date as
        typed). Series and image queries show as study forms: the form has no fields of theirs."""
        names = {n.casefold(): n for n in self._node_names}
        if node.casefold() in names:
            self.query_one("#q-node", Select).value = names[node.casefold()]
        self.query_one("#q-level", Select).value = "patient" if level == "patient" else "study"
        date = preset_range(preset) if preset else None
        for field, keyword, _label, _p in FIELDS:
            value = date if field == "date" and date is not None else keys.get(keyword, "")
            self.query_one(f"#q-{field}", Input).value = value
        self.query_one("#q-preset", Select).value = preset or ("custom" if keys.get("StudyDate") else "any")
        self._enable_fields()

    def field_changed(self, field: str, value: str) -> None:
        if field == "date":
            preset = self.query_one("#q-preset", Select)
            if preset.value != "custom" and preset_range(str(preset.value)) != value.strip():
                with preset.prevent(Select.Changed):
                    preset.value = "custom"

    @on(Select.Changed, "#q-level")
    def _level(self, event: Select.Changed) -> None:
        event.stop()
        self._enable_fields()

    def _enable_fields(self) -> None:
        study = self.level == "study"
        for field, _keyword, _label, _p in FIELDS:
            if field not in PATIENT_FIELDS:
                self.query_one(f"#q-{field}", Input).disabled = not study
        self.query_one("#q-preset", Select).disabled = not study
        self.validate_all()

    @on(Select.Changed, "#q-preset")
    def _preset(self, event: Select.Changed) -> None:
        event.stop()
        value = preset_range(str(event.value))
        if value is not None:
            date = self.query_one("#q-date", Input)
            with date.prevent(Input.Changed):
                date.value = value
            self._record("date", date.validate(value))
            self._show_errors()
