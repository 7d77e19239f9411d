"""Textual validators over the shared checks in dicomtui.dicom.validation.

The form shows exactly the sentence the CLI would print for the same value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.validation import ValidationResult, Validator

from ..dicom.validation import InvalidValue


class Check(Validator):
    def __init__(self, check: Callable[[str], Any], *, optional: bool = False) -> None:
        super().__init__()
        self._check = check
        self._optional = optional

    def validate(self, value: str) -> ValidationResult:
        if self._optional and not value.strip():
            return self.success()
        try:
            self._check(value)
        except InvalidValue as exc:
            return self.failure(str(exc))
        return self.success()
