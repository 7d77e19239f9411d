"""The receiver fast path's own A-ASSOCIATE-RQ reading and negotiation agree with pynetdicom's, context for context."""

from __future__ import annotations

import random

import pytest
from pynetdicom import AE, AllStoragePresentationContexts, StoragePresentationContexts
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
    SCP_SCU_RoleSelectionNegotiation,
)
from pynetdicom.presentation import PresentationContext, negotiate_as_acceptor

from dicomtui.engine.receiver.contexts import STORAGE_TRANSFER_SYNTAXES, UNCOMPRESSED, add_supported_contexts
from dicomtui.engine.wire.acceptor import acceptance, negotiate, read_request, supported_map
from dicomtui.engine.wire.negotiation import NegotiationError


def _supported():
    ae = AE()
    add_supported_contexts(ae)
    return ae.supported_contexts


def _encoded_request(contexts: list[PresentationContext], roles=()) -> bytes:
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = "CT_ROOM2"
    primitive.called_ae_title = "DICOMTUI"
    primitive.presentation_context_definition_list = contexts
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = 16384
    implementation = ImplementationClassUIDNotification()
    implementation.implementation_class_uid = "1.2.276.0.7230010.3.0.3.6.7"
    version = ImplementationVersionNameNotification()
    version.implementation_version_name = "OFFIS_DCMTK_367"
    primitive.user_information = [maximum, implementation, version, *roles]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return pdu.encode()


def _proposals(seed: int) -> list[PresentationContext]:
    """Storage classes (and a few unknown ones) with random mixes of transfer syntaxes, as senders propose."""
    rnd = random.Random(seed)
    pool = STORAGE_TRANSFER_SYNTAXES + ["1.2.840.10008.1.2.4.57", "9.9.9.9"]
    classes = [cx.abstract_syntax for cx in rnd.sample(AllStoragePresentationContexts, 60)] + ["1.2.3.4.5"]
    contexts = []
    for number, abstract in enumerate(classes[:64]):
        context = PresentationContext()
        context.context_id = 2 * number + 1
        context.abstract_syntax = abstract
        context.transfer_syntax = rnd.sample(pool, rnd.randint(1, 5))
        contexts.append(context)
    return contexts


@pytest.mark.parametrize("seed", range(8))
def test_the_same_choice_as_pynetdicom_for_what_senders_propose(seed):
    proposed = _proposals(seed)
    supported = _supported()
    request = read_request(_encoded_request(proposed)[6:])
    assert (request.calling_ae, request.called_ae, request.max_pdu) == ("CT_ROOM2", "DICOMTUI", 16384)
    assert request.implementation_version == "OFFIS_DCMTK_367" and not request.roles
    assert request.contexts == [(cx.context_id, cx.abstract_syntax, list(cx.transfer_syntax)) for cx in proposed]
    ours = negotiate(request.contexts, supported_map(supported))
    theirs, _roles = negotiate_as_acceptor(proposed, supported, None)
    assert ours == [(cx.context_id, cx.result, str(cx.transfer_syntax[0])) for cx in theirs]


def test_storescu_s_usual_proposal():
    proposed = []
    for number, cx in enumerate(StoragePresentationContexts):
        context = PresentationContext()
        context.context_id = 2 * number + 1
        context.abstract_syntax = cx.abstract_syntax
        context.transfer_syntax = [UNCOMPRESSED[0], UNCOMPRESSED[1], UNCOMPRESSED[3]]
        proposed.append(context)
    supported = _supported()
    ours = negotiate(read_request(_encoded_request(proposed)[6:]).contexts, supported_map(supported))
    theirs, _ = negotiate_as_acceptor(proposed, supported, None)
    assert ours == [(cx.context_id, cx.result, str(cx.transfer_syntax[0])) for cx in theirs]
    assert all(result == 0 for _, result, _ in ours)


def test_our_acceptance_reads_back_in_pynetdicom():
    proposed = _proposals(3)
    request = read_request(_encoded_request(proposed)[6:])
    results = negotiate(request.contexts, supported_map(_supported()))
    encoded = acceptance(request, results, 262144, "1.2.826.0.1.3680043.9.3811.3.0.4", "DICOMTUI_1")
    decoded = A_ASSOCIATE_AC()
    decoded.decode(encoded)
    primitive = decoded.to_primitive()
    assert primitive.result == 0
    assert (primitive.calling_ae_title, primitive.called_ae_title) == ("CT_ROOM2", "DICOMTUI")
    assert primitive.maximum_length_received == 262144
    back = [(cx.context_id, cx.result, str(cx.transfer_syntax[0]) if cx.transfer_syntax else "")
            for cx in primitive.presentation_context_definition_results_list]
    assert back == [(cid, result, syntax if result == 0 else back[n][2]) for n, (cid, result, syntax)
                    in enumerate(results)]
    assert [r for _, r, _ in results].count(0) >= 1 and 3 in [r for _, r, _ in results]


def test_role_selection_is_read_so_the_fast_path_can_leave_it_to_pynetdicom():
    role = SCP_SCU_RoleSelectionNegotiation()
    role.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2"
    role.scu_role, role.scp_role = False, True
    request = read_request(_encoded_request(_proposals(1), roles=[role])[6:])
    assert request.roles == [("1.2.840.10008.5.1.4.1.1.2", 0, 1)]


@pytest.mark.parametrize("cut", [10, 67, 80, 200])
def test_a_request_cut_short_is_refused(cut):
    body = _encoded_request(_proposals(2))[6:6 + cut]
    with pytest.raises(NegotiationError):
        read_request(body)
