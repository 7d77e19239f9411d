"""Presentation contexts for the files of a send, and the groups of files that share an association.

An acceptor (pynetdicom, dcmtk) picks from each context the first transfer syntax of its own
list that we proposed, not ours: a context offering JPEG 2000 and Explicit VR Little Endian
comes back as Explicit VR Little Endian from nearly every archive, and the file would need
decoding. So each (SOP class, transfer syntax) of the files gets a context of its own, and
each SOP class one more with the uncompressed little endian syntaxes it lacks, the fallback
for converting. An association has at most 128 contexts (PS3.8 9.3.2.2, odd IDs 1-255): files
whose classes and syntaxes need more go out in several groups, one association (or several in
parallel) each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .scan import DicomFile

EXPLICIT_LITTLE = "1.2.840.10008.1.2.1"
IMPLICIT_LITTLE = "1.2.840.10008.1.2"
FALLBACK = (EXPLICIT_LITTLE, IMPLICIT_LITTLE)  # what any file can be converted to where pydicom reads it
MAX_CONTEXTS = 128


@dataclass(frozen=True)
class ProposedContext:
    context_id: int
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]


@dataclass
class Group:
    """Files that go out on associations proposing `contexts`."""

    contexts: list[ProposedContext] = field(default_factory=list)
    files: list[DicomFile] = field(default_factory=list)

    def proposal(self) -> list[tuple[int, str, list[str]]]:
        """The contexts as open_fast_association takes them."""
        return [(c.context_id, c.abstract_syntax, list(c.transfer_syntaxes)) for c in self.contexts]


@dataclass
class _Unit:
    """One SOP class's share of the contexts: its syntaxes (own contexts) and the files using them."""

    sop_class: str
    syntaxes: list[str]
    files: list[DicomFile]

    def contexts(self) -> list[tuple[str, tuple[str, ...]]]:
        own = [(self.sop_class, (syntax,)) for syntax in self.syntaxes]
        fallback = tuple(s for s in FALLBACK if s not in self.syntaxes)
        return own + ([(self.sop_class, fallback)] if fallback else [])


def plan(files: list[DicomFile], limit: int = MAX_CONTEXTS) -> list[Group]:
    """Groups of files in first-seen order of their SOP classes, each with at most `limit` contexts."""
    by_class: dict[str, dict[str, list[DicomFile]]] = {}
    for f in files:
        by_class.setdefault(f.sop_class_uid, {}).setdefault(f.transfer_syntax, []).append(f)
    units: list[_Unit] = []
    for sop_class, by_syntax in by_class.items():
        syntaxes = list(by_syntax)
        step = limit - 1  # room for the fallback context; only a class with 128+ syntaxes is ever split
        for start in range(0, len(syntaxes), step):
            chosen = syntaxes[start:start + step]
            units.append(_Unit(sop_class, chosen, [f for s in chosen for f in by_syntax[s]]))
    groups: list[Group] = []
    pending: list[tuple[str, tuple[str, ...]]] = []
    members: list[DicomFile] = []
    for unit in units:
        wanted = unit.contexts()
        if pending and len(pending) + len(wanted) > limit:
            groups.append(_group(pending, members))
            pending, members = [], []
        pending += wanted
        members += unit.files
    if pending:
        groups.append(_group(pending, members))
    return groups


def _group(contexts: list[tuple[str, tuple[str, ...]]], files: list[DicomFile]) -> Group:
    return Group([ProposedContext(2 * n + 1, abstract, syntaxes) for n, (abstract, syntaxes) in enumerate(contexts)],
                 files)
