"""What the receiver accepts: Verification, every storage SOP class, Query/Retrieve, Modality Worklist.

pynetdicom's acceptor picks, for each proposed context, the first transfer syntax of ITS
OWN list that the sender proposed. Uncompressed syntaxes come first so that we never make
a sender compress (lossy!) an image it offered uncompressed as well; compressed ones
follow, so an instance offered only compressed is accepted and stored exactly as sent.
"""

from __future__ import annotations

from pydicom import uid
from pynetdicom import AE, AllStoragePresentationContexts, StoragePresentationContexts
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityWorklistInformationFind,
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

UNCOMPRESSED = [
    uid.ExplicitVRLittleEndian,
    uid.ImplicitVRLittleEndian,
    uid.DeflatedExplicitVRLittleEndian,
    uid.ExplicitVRBigEndian,
]
LOSSLESS = [
    uid.JPEGLosslessSV1,
    uid.JPEGLossless,
    uid.JPEGLSLossless,
    uid.JPEG2000Lossless,
    uid.RLELossless,
    uid.HTJ2KLossless,
    uid.HTJ2KLosslessRPCL,
]
LOSSY = [
    uid.JPEGBaseline8Bit,
    uid.JPEGExtended12Bit,
    uid.JPEGLSNearLossless,
    uid.JPEG2000,
    uid.HTJ2K,
    uid.MPEG2MPML,
    uid.MPEG2MPHL,
    uid.MPEG4HP41,
    uid.MPEG4HP41BD,
]
STORAGE_TRANSFER_SYNTAXES = UNCOMPRESSED + LOSSLESS + LOSSY

QUERY_RETRIEVE = [
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelMove,
    # The local worklist (worklist_scp.py). Listed here, not apart, because the fast storage path
    # (service.py) hands every association proposing one of these to pynetdicom, which answers C-FIND.
    ModalityWorklistInformationFind,
]
GET = [PatientRootQueryRetrieveInformationModelGet, StudyRootQueryRetrieveInformationModelGet]


def storage_classes() -> list[str]:
    """Every storage SOP class pynetdicom knows: AllStoragePresentationContexts leaves out retired ones that
    StoragePresentationContexts (what storescu proposes too) has, and older modalities still send them
    (Ultrasound Image Storage (Retired), Nuclear Medicine Image Storage (Retired)...)."""
    return list(dict.fromkeys(cx.abstract_syntax for cx in [*AllStoragePresentationContexts,
                                                             *StoragePresentationContexts]))


def add_supported_contexts(ae: AE) -> None:
    ae.add_supported_context(Verification, UNCOMPRESSED)
    for abstract in storage_classes():
        # scp_role/scu_role: as a C-GET SCP we send these as sub-operations too.
        ae.add_supported_context(abstract, STORAGE_TRANSFER_SYNTAXES, scu_role=True, scp_role=True)
    for abstract in QUERY_RETRIEVE + GET:
        ae.add_supported_context(abstract, UNCOMPRESSED)
