"""Add or edit a node: a modal form that refuses invalid values field by field."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...config import Node
from ...dicom.validation import (
    InvalidValue,
    check_ae_title,
    check_host,
    check_max_pdu,
    check_node_name,
    check_port,
    check_timeout,
)
from ..validators import Check

# (field id, label, placeholder, required)
FIELDS = [
    ("name", "Name", "a short unique name, e.g. pacs", True),
    ("ae_title", "AE title", "the node's AE title, e.g. ORTHANC", True),
    ("host", "Host", "host name or IP address", True),
    ("port", "Port", "1-65535, often 104 or 11112", True),
    ("description", "Description", "optional note", False),
    ("timeout", "Timeout (s)", "connect and negotiate; default 10", False),
    ("dimse_timeout", "DIMSE timeout", "wait for each response; default 30", False),
    ("max_pdu", "Max PDU", "bytes we accept; default 262144", False),
]


class NodeFormScreen(ModalScreen[Node | None]):
    """Returns the saved node, or None when cancelled.

    `save` writes the node and returns None, or an error sentence: the form stays open with
    the user's input when saving fails, so nothing typed is lost.
    """

    AUTO_FOCUS = "#field-name"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel", tooltip="Close without saving"),
        Binding("ctrl+s,f2", "save", "Save", id="form.save", tooltip="Check and save the node"),
    ]

    def __init__(self, node: Node | None, other_names: list[str],
                 save: Callable[[Node], str | None]) -> None:
        super().__init__()
        self._node = node
        self._other_names = other_names
        self._save = save

    def _checks(self) -> dict[str, Check]:
        return {
            "name": Check(lambda v: check_node_name(v, self._other_names)),
            "ae_title": Check(check_ae_title),
            "host": Check(check_host),
            "port": Check(check_port),
            "timeout": Check(lambda v: check_timeout(v, "the timeout"), optional=True),
            "dimse_timeout": Check(lambda v: check_timeout(v, "the DIMSE timeout"), optional=True),
            "max_pdu": Check(check_max_pdu, optional=True),
        }

    def _initial(self, field: str) -> str:
        if self._node is None:
            return ""
        value = getattr(self._node, field)
        if value is None:
            return ""
        return f"{value:g}" if isinstance(value, float) else str(value)

    def compose(self) -> ComposeResult:
        checks = self._checks()
        title = f"Edit node {self._node.name}" if self._node else "Add a node"
        with Vertical(id="form"):
            yield Static(title, id="form-title")
            with VerticalScroll(id="form-body"), Grid(id="form-grid"):
                for field, label, placeholder, required in FIELDS:
                    yield Label(label + (" *" if required else ""), classes="form-label")
                    with Vertical(classes="form-cell"):
                        yield Input(
                            value=self._initial(field),
                            placeholder=placeholder,
                            id=f"field-{field}",
                            validators=[checks[field]] if field in checks else [],
                            validate_on=["changed", "submitted"],
                            select_on_focus=False,
                            compact=True,
                        )
                        yield Static("", id=f"error-{field}", classes="form-error")
            yield Static("", id="form-message")
            with Horizontal(id="form-buttons"):
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static("tab next field · ctrl+s or F2 saves · esc cancels", id="form-hint")

    @on(Input.Changed)
    def _show_validation(self, event: Input.Changed) -> None:
        field = (event.input.id or "").removeprefix("field-")
        error = self.query_one(f"#error-{field}", Static)
        if event.validation_result and not event.validation_result.is_valid:
            error.update(event.validation_result.failure_descriptions[0])
            error.display = True
        else:
            error.update("")
            error.display = False

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        try:
            node = self._build()
        except InvalidValue as exc:
            self.query_one("#form-message", Static).update(f"Not saved: {exc}")
            return
        problem = self._save(node)
        if problem:
            self.query_one("#form-message", Static).update(f"Not saved: {problem}")
            return
        self.dismiss(node)

    def _value(self, field: str) -> str:
        return self.query_one(f"#field-{field}", Input).value

    def _build(self) -> Node:
        """The node the form describes; InvalidValue names the first bad field and focuses it."""
        values: dict[str, object] = {}
        builders = {
            "name": lambda v: check_node_name(v, self._other_names),
            "ae_title": check_ae_title,
            "host": check_host,
            "port": check_port,
            "description": str.strip,
            "timeout": lambda v: check_timeout(v, "the timeout") if v.strip() else None,
            "dimse_timeout": lambda v: check_timeout(v, "the DIMSE timeout") if v.strip() else None,
            "max_pdu": lambda v: check_max_pdu(v.strip()) if v.strip() else None,
        }
        for field, build in builders.items():
            try:
                values[field] = build(self._value(field))
            except InvalidValue:
                self.query_one(f"#field-{field}", Input).focus()
                raise
        return Node(**values)  # type: ignore[arg-type]
