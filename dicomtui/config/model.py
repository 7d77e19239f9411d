"""The settings dicomtui reads from its TOML file, as plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..dicom.validation import InvalidValue

DEFAULT_AE_TITLE = "DICOMTUI"
DEFAULT_PORT = 11112
DEFAULT_BIND = "0.0.0.0"
# Interactive checks should fail fast; a node can raise it for a slow WAN link.
DEFAULT_TIMEOUT = 10.0


@dataclass
class LocalAE:
    """This machine as a DICOM node: our calling AE title and the receiver's listen address."""

    ae_title: str = DEFAULT_AE_TITLE
    port: int = DEFAULT_PORT
    bind: str = DEFAULT_BIND
    storage: Path | None = None  # None: the default folder under the data directory
    worklists: Path | None = None  # `.wl` files the receiver serves as a worklist; None: the data directory's


@dataclass
class Node:
    """A remote DICOM application entity the user manages."""

    name: str
    ae_title: str
    host: str
    port: int
    description: str = ""
    timeout: float | None = None  # connect + association negotiation, seconds
    dimse_timeout: float | None = None  # waiting for each DIMSE response, seconds
    max_pdu: int | None = None  # our maximum receive PDU length for this node
    charset: str | None = None  # for archives that omit SpecificCharacterSet: e.g. "ISO_IR 192", "GB18030"

    @property
    def address(self) -> str:
        """AE@HOST:PORT, the form users type on the command line."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.ae_title}@{host}:{self.port}"


@dataclass
class ReceiverOptions:
    """[receiver]: how the Storage and Query/Retrieve SCP behaves."""

    accept: str | tuple[str, ...] = "any"  # "any", "nodes" (configured nodes only) or a list of AE titles
    max_associations: int = 8
    duplicates: str = "keep-newest"  # a re-sent SOP Instance UID replaces the old copy; or "keep-first"
    min_free_mb: int = 500  # below this much free space, answer Out of Resources (0xA700)
    max_pdu: int = 262_144
    fsync: bool = True
    workers: int | None = None  # processes of `dicomtui serve`; None: one per CPU, at most 4
    tls_port: int | None = None  # a second listener for DICOM over TLS (2762 is the standard port)
    tls_cert: Path | None = None  # our certificate (PEM)
    tls_key: Path | None = None  # its private key (PEM)
    tls_ca: Path | None = None  # when set, callers must present a certificate signed by it


@dataclass
class UiOptions:
    """[ui]: how the app looks."""

    theme: str | None = None  # a theme's name (themes/ and the config folder's themes/); None: the default
    mask_phi: bool = False  # start with patient-identifying values masked on every screen (P toggles it)


@dataclass
class TransferOptions:
    """[transfers]: how many associations the job queue opens at once, across every process that runs jobs."""

    max_associations: int = 8  # in all: send, move and get jobs together
    max_associations_per_node: int = 4  # to any one peer (host and port), however many jobs go there


QUERY_LEVELS = ("patient", "study", "series", "image")
DATE_PRESETS = ("any", "today", "yesterday", "7d", "30d", "custom")


@dataclass
class SavedQuery:
    """[[queries]]: a Query screen form kept under a name."""

    name: str
    node: str
    level: str = "study"  # one of QUERY_LEVELS
    keys: dict[str, str] = field(default_factory=dict)  # keyword or (gggg,eeee) -> value as typed
    preset: str | None = None  # a relative study date ("today", "7d"...): StudyDate is computed when it runs


# What a worklist preset's `node` says to ask this machine's own receiver (its local worklist).
LOCAL_NODE = "this machine"


@dataclass
class WorklistOptions:
    """[worklist]: how the Worklist screen behaves."""

    refresh_seconds: int = 30  # between automatic refreshes, when they are on


@dataclass
class WorklistPreset:
    """[[worklist_presets]]: a Worklist screen query "as station X", kept under a name."""

    name: str
    node: str  # a node's name, or LOCAL_NODE
    station: str = ""  # Scheduled Station AE Title
    modality: str = ""
    date: str = ""  # "" any date, a preset (today, tomorrow, week) or a DICOM date or range


@dataclass
class Config:
    local: LocalAE = field(default_factory=LocalAE)
    nodes: list[Node] = field(default_factory=list)
    receiver: ReceiverOptions = field(default_factory=ReceiverOptions)
    queries: list[SavedQuery] = field(default_factory=list)
    transfers: TransferOptions = field(default_factory=TransferOptions)
    worklist: WorklistOptions = field(default_factory=WorklistOptions)
    worklist_presets: list[WorklistPreset] = field(default_factory=list)
    ui: UiOptions = field(default_factory=UiOptions)
    keymap: dict[str, str] = field(default_factory=dict)  # [keymap]: binding id -> keys, e.g. "transfers.pause" = "P"

    def worklist_preset(self, name: str) -> WorklistPreset | None:
        """The worklist preset with this name; names compare without regard to case."""
        key = name.strip().casefold()
        return next((p for p in self.worklist_presets if p.name.casefold() == key), None)

    def query(self, name: str) -> SavedQuery | None:
        """The saved query with this name; names compare without regard to case."""
        key = name.strip().casefold()
        return next((q for q in self.queries if q.name.casefold() == key), None)

    def node(self, name: str) -> Node | None:
        """The node with this name; names compare without regard to case."""
        key = name.strip().casefold()
        return next((n for n in self.nodes if n.name.casefold() == key), None)

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def require_node(self, name: str) -> Node:
        """The node with this name, or InvalidValue that lists the ones there are."""
        node = self.node(name)
        if node is None:
            known = ", ".join(self.node_names()) or "none yet"
            raise InvalidValue(f"there is no node named {name!r} (nodes: {known})")
        return node
