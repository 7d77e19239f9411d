"""A form of inputs checked as they are typed, as the Query and Worklist screens have: enter in any field posts
Submitted, and the first field in error is named in one line under the form."""

from __future__ import annotations

from textual import on
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static


class CheckedForm(Vertical):
    """Inputs with ids PREFIX + field for each field of LABELS (field -> label), and a Static PREFIX + "error"."""

    PREFIX = ""
    LABELS: dict[str, str] = {}

    class Submitted(Message):
        pass

    def __init__(self, nodes: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self._node_names = nodes
        self._errors: dict[str, str] = {}

    def validate_all(self) -> bool:
        """Check every field that is enabled now; the first error is shown under the form."""
        for field in self.LABELS:
            widget = self.query_one(f"#{self.PREFIX}{field}", Input)
            self._record(field, widget.validate(widget.value) if not widget.disabled else None)
        self._show_errors()
        return not self._errors

    @property
    def first_error(self) -> str | None:
        """"Label: what is wrong", for the first field in error."""
        if not self._errors:
            return None
        field, text = next(iter(self._errors.items()))
        return f"{self.LABELS[field]}: {text}"

    def field_changed(self, field: str, value: str) -> None:
        """Called after a field's new value was checked; for fields that change others."""

    def _record(self, field: str, result) -> None:
        if result is None or result.is_valid:
            self._errors.pop(field, None)
        else:
            self._errors[field] = "; ".join(result.failure_descriptions)

    def _show_errors(self) -> None:
        error = self.query_one(f"#{self.PREFIX}error", Static)
        error.update(self.first_error or "")
        error.display = bool(self._errors)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        field = (event.input.id or "").removeprefix(self.PREFIX)
        if field not in self.LABELS:
            return
        event.stop()
        self._record(field, event.validation_result)
        self._show_errors()
        self.field_changed(field, event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if (event.input.id or "").removeprefix(self.PREFIX) in self.LABELS:
            event.stop()
            self.post_message(self.Submitted())
