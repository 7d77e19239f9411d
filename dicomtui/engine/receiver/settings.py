"""How the receiver runs: built from the config, with the command line's overrides."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ... import paths
from ...config.model import Config, Node

# Our largest accepted PDU; the hard limit on what a peer may announce is a little more,
# and generous before association (an A-ASSOCIATE-RQ with 128 contexts is ~20 KB).
DEFAULT_MAX_PDU = 262_144
PDU_LIMIT_FLOOR = 1_048_576


@dataclass(frozen=True)
class ReceiverSettings:
    ae_title: str
    port: int
    bind: str
    storage: Path
    nodes: tuple[Node, ...] = ()  # C-MOVE destinations and, with accept="nodes", who may call
    accept: str | tuple[str, ...] = "any"  # "any", "nodes", or AE titles
    max_associations: int = 8
    duplicates: str = "keep-newest"  # or "keep-first"
    min_free_bytes: int = 500 * 1024 * 1024
    max_pdu: int = DEFAULT_MAX_PDU
    fsync: bool = True  # durable before we answer Success: the sender may delete its copy
    tls_port: int | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None  # set: mutual TLS, callers need a certificate signed by it
    tls_handshake_seconds: float = 10.0
    worklists: Path | None = None  # `.wl` files answering Modality Worklist C-FIND; None: an empty worklist

    @property
    def pdu_limit(self) -> int:
        """Largest PDU length a peer may announce before we drop the connection."""
        return max(self.max_pdu, PDU_LIMIT_FLOOR) + 64

    def allowed_calling_aes(self) -> list[str]:
        """pynetdicom's require_calling_aet: empty means anyone."""
        if self.accept == "any":
            return []
        if self.accept == "nodes":
            return sorted({n.ae_title for n in self.nodes}) or ["\\"]  # nobody: no valid AE has '\'
        return list(self.accept)

    def with_overrides(self, **changes) -> ReceiverSettings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def settings_from_config(config: Config) -> ReceiverSettings:
    local = config.local
    receiver = config.receiver
    return ReceiverSettings(
        ae_title=local.ae_title,
        port=local.port,
        bind=local.bind,
        storage=(local.storage or paths.default_storage_dir()),
        nodes=tuple(config.nodes),
        accept=receiver.accept,
        max_associations=receiver.max_associations,
        duplicates=receiver.duplicates,
        min_free_bytes=receiver.min_free_mb * 1024 * 1024,
        max_pdu=receiver.max_pdu,
        fsync=receiver.fsync,
        tls_port=receiver.tls_port,
        tls_cert=receiver.tls_cert,
        tls_key=receiver.tls_key,
        tls_ca=receiver.tls_ca,
        worklists=(local.worklists or paths.default_worklist_dir()),
    )
