"""A-ASSOCIATE-RJ and connection failures in words (PS3.8 9.3.4, Table 9-21)."""

from __future__ import annotations

# (source, reason) -> explanation. Source 1: the peer application (service-user);
# 2: its ACSE service-provider; 3: its presentation service-provider.
_REJECT_REASONS: dict[tuple[int, int], str] = {
    (1, 1): "the node rejected the association without giving a reason (often: our AE title or address "
    "is not in its list of allowed peers)",
    (1, 2): "the node does not support the DICOM application context",
    (1, 3): "calling AE title not recognised: the node does not know our AE title {calling!r}; add "
    "{calling} with this machine's address to the node's list of allowed peers",
    (1, 7): "called AE title not recognised: the node expects a different AE title (we called {called!r}); "
    "check the node's AE title",
    (2, 1): "the node's DICOM service rejected the association without giving a reason",
    (2, 2): "the node does not support DICOM protocol version 1",
    (3, 1): "the node is busy (temporary congestion); try again later",
    (3, 2): "the node has reached its limit of simultaneous associations; try again later",
}


def explain_rejection(result: int | None, source: int | None, reason: int | None,
                      *, calling: str, called: str) -> str:
    """One sentence for an A-ASSOCIATE-RJ, keeping the numbers for whoever reads the node's logs."""
    text = _REJECT_REASONS.get((source or 0, reason or 0))
    if text is None:
        text = "the node rejected the association"
    text = text.format(calling=calling, called=called)
    kind = {1: "permanent", 2: "transient"}.get(result or 0, "unknown")
    return f"association rejected: {text} (A-ASSOCIATE-RJ result {result} {kind}, source {source}, reason {reason})"
