"""The Worklist screen's y (its query as a dicomtui and a findscu line), l (its associations) and palette
context: a mixin, as WorklistPresets is, to keep the screen's file about asking and showing."""

from __future__ import annotations

from ...command_lines import worklist_lines
from ...dicom.phi import MASK
from ...dicom.validation import InvalidValue
from ...engine.loading import import_engine
from ..query_levels import text
from ..widgets.worklist_form import WorklistForm
from .command_lines import CommandLinesScreen


class WorklistCopyAndLog:
    """Needs the screen's _node, _request, _config, _selected(), _node_named() and now() from the screen's module."""

    def action_copy_command(self) -> None:
        form = self.query_one(WorklistForm)
        if self._node is not None and self._request is not None:
            node, request = self._node, self._request
        else:  # nothing asked yet: the form's filters, as they would be asked
            filters = form.filters()
            node = self._node_named(filters.node)
            if node is None:
                self.notify("Choose a node first.", title="Copy as command")
                return
            engine = import_engine("dicomtui.engine.worklist_request")
            try:
                request = engine.WorklistRequest(date=filters.date, station=filters.station,
                                                 modality=filters.modality, patient_name=filters.patient)
            except InvalidValue as exc:
                self.notify(str(exc), title="Copy as command", severity="warning", markup=False)
                return
        configured = self._config.node(node.name) is not None
        self.app.push_screen(CommandLinesScreen([worklist_lines(node, self._config.local.ae_title, request,
                                                                today=_today(), configured=configured)]))

    def action_log(self) -> None:
        from .associations import LogFilter

        node = self._node or self._node_named(self.query_one(WorklistForm).filters().node)
        if node is None:
            self.notify("Choose a node first: the log shows its worklist queries.", title="Log")
            return
        self.app.open_log(LogFilter(f"the worklist queries of {node.name}", origin=f"worklist {node.name}"))

    def palette_context(self) -> str:
        row = self._selected()
        if row is None:
            return ""
        name = MASK if self.app.phi_masked else text(row.patient_name)
        return f"{text(row.start_time)[:4]} {name}".strip()



def _today():
    from .worklist import now  # the screen's clock, which tests fix

    return now().date()
