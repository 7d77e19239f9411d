"""pynetdicom settings every part of the engine wants, set once on import.

Pretty-printing every C-FIND identifier is slow, puts patient data in logs, and decodes
values before a fallback character set can be applied (PYNETDICOM.md), on the SCU side
(our queries) and the SCP side (the receiver answering them) alike.
"""

from pynetdicom import _config

_config.LOG_RESPONSE_IDENTIFIERS = False
_config.LOG_REQUEST_IDENTIFIERS = False
