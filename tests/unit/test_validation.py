"""The checks users meet when they type AE titles, ports, hosts and node names.

Every rejection must be an `InvalidValue` (a ValueError the faces catch) whose text is a
plain sentence naming what is wrong, so messages are checked for their meaningful words.
"""

from __future__ import annotations

import re

import pytest

from dicomtui.config import Config, Node, parse_address, resolve_target
from dicomtui.dicom.validation import (
    InvalidValue,
    check_ae_title,
    check_host,
    check_max_pdu,
    check_node_name,
    check_port,
    check_timeout,
)


def _plain_sentence(message: str, value: object = "") -> None:
    """One or two sentences of words: no traceback, no class names, no multi-line dumps."""
    assert message.strip() == message
    assert "\n" not in message
    assert "Traceback" not in message
    assert "Error" not in message  # no exception class names such as ValueError
    assert len(re.findall(r"[a-zA-Z]{2,}", message)) >= 4, message
    assert len(message) < 250 + len(repr(value)), message


def _rejects(check, value, *words: str) -> str:
    with pytest.raises(InvalidValue) as info:
        check(value)
    message = str(info.value)
    _plain_sentence(message, value)
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    return message


# --- AE titles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("STORESCP", "STORESCP"),
        ("A", "A"),
        ("  PACS  ", "PACS"),
        ("MY AE", "MY AE"),  # inner spaces are significant and allowed
        ("ae-1_x.y!@#$%^&*", "ae-1_x.y!@#$%^&*"),
        ("A" * 16, "A" * 16),
        ("  " + "B" * 16 + "  ", "B" * 16),  # 16 significant characters after stripping
        ("~ORTHANC~", "~ORTHANC~"),
    ],
)
def test_ae_title_accepts_and_strips(value, expected):
    assert check_ae_title(value) == expected


def test_ae_title_16_ok_17_rejected():
    assert check_ae_title("X" * 16) == "X" * 16
    message = _rejects(check_ae_title, "X" * 17, "16", "17")
    assert "at most 16" in message


@pytest.mark.parametrize("value", ["", " ", "                "])
def test_ae_title_empty_or_only_spaces(value):
    _rejects(check_ae_title, value, "empty", "16")


def test_ae_title_backslash():
    _rejects(check_ae_title, "AE\\ONE", "backslash")


@pytest.mark.parametrize("value", ["A\tB", "AB\n", "\x00AB", "A\x1bB", "A\x7fB", "\rAB"])
def test_ae_title_control_characters(value):
    _rejects(check_ae_title, value, "control character", "ASCII")


@pytest.mark.parametrize("value", ["ÄRZTE", "PACS\u00a0", "CT\u2013A", "日本", "ＰＡＣＳ"])
def test_ae_title_non_ascii(value):
    _rejects(check_ae_title, value, "ASCII")


@pytest.mark.parametrize("value", [None, 5, b"PACS", ["PACS"]])
def test_ae_title_not_text(value):
    _rejects(check_ae_title, value, "AE title", "text")


def test_invalid_value_is_a_value_error():
    assert issubclass(InvalidValue, ValueError)


# --- ports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [(1, 1), (104, 104), (11112, 11112), (65535, 65535), ("104", 104), (" 4242 ", 4242), ("65535", 65535)],
)
def test_port_accepts(value, expected):
    result = check_port(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [0, -1, 65536, 70000, "0", "65536", "99999"])
def test_port_out_of_range(value):
    _rejects(check_port, value, "1 to 65535")


@pytest.mark.parametrize("value", [True, False])
def test_port_bool_rejected(value):
    # bool is an int subclass: True must not become port 1.
    _rejects(check_port, value, "whole number", "1 to 65535")


@pytest.mark.parametrize("value", ["", "  ", "abc", "10 4", "1e3", "-1", "+104", "104.0", "0x68", 104.0, None, [104]])
def test_port_not_a_number(value):
    _rejects(check_port, value, "whole number", "65535")


@pytest.mark.parametrize("value", ["²", "10⁴"], ids=["superscript-2", "superscript-4"])
def test_port_superscript_digits_rejected_in_words(value):
    """'²'.isdigit() is True but int('²') fails.

    It must be an InvalidValue with a sentence, never a bare ValueError from int() that
    surfaces as a traceback in `dicomtui nodes add x AE@host:²`.
    """
    _rejects(check_port, value, "whole number", "65535")


# --- hosts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("10.0.0.5", "10.0.0.5"),
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("fe80::1", "fe80::1"),
        ("[2001:db8::10]", "2001:db8::10"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),  # normalised
        ("localhost", "localhost"),
        ("pacs.example.org", "pacs.example.org"),
        ("PACS-01.hospital.local", "PACS-01.hospital.local"),
        ("ct_scanner", "ct_scanner"),  # underscores are tolerated on purpose
        ("  orthanc  ", "orthanc"),
        ("a" * 63 + ".org", "a" * 63 + ".org"),
        ("pacs.example.org.", "pacs.example.org."),  # fully qualified, trailing dot
    ],
)
def test_host_accepts(value, expected):
    assert check_host(value) == expected


@pytest.mark.parametrize("value", ["999.1.1.1", "1.2.3", "256.0.0.1", "1.2.3.4.5", "10.0.0."])
def test_host_bad_ipv4(value):
    _rejects(check_host, value, "IPv4", "255")


@pytest.mark.parametrize("value", ["a..b", "-x", "x-", "pacs.-bad.org", "a b", "pacs!", "a" * 64, ".pacs",
                                   "x" * 250 + ".example.org"],
                         ids=["double-dot", "leading-hyphen", "trailing-hyphen", "label-hyphen", "space", "bang",
                              "label-64", "leading-dot", "name-262"])
def test_host_bad_names(value):
    _rejects(check_host, value, "not a valid host name", "letters")


@pytest.mark.parametrize("value", [":::", "1::2::3", "[::g]", "fe80:::1"])
def test_host_bad_ipv6(value):
    _rejects(check_host, value, "IPv6")


@pytest.mark.parametrize("value", ["", "   ", "[]"])
def test_host_empty(value):
    _rejects(check_host, value, "empty", "IP address")


@pytest.mark.parametrize("value", [None, 10, b"pacs"])
def test_host_not_text(value):
    _rejects(check_host, value, "host", "IP address")


# --- node names ------------------------------------------------------------------------


def test_node_name_accepts_and_strips():
    assert check_node_name("pacs") == "pacs"
    assert check_node_name("  ct scanner 2 ") == "ct scanner 2"
    assert check_node_name("Röntgen") == "Röntgen"  # names are ours, not DICOM's: any printable text
    assert check_node_name("n" * 64) == "n" * 64
    assert check_node_name("mr", ["pacs", "ct"]) == "mr"


@pytest.mark.parametrize("existing", [["pacs"], ["PACS"], ["Pacs", "ct"], ("ct", "pAcS")])
def test_node_name_unique_without_regard_to_case(existing):
    message = _rejects(lambda v: check_node_name(v, existing), "pacs", "already exists")
    assert "pacs" in message


def test_node_name_unique_after_stripping():
    _rejects(lambda v: check_node_name(v, ["pacs"]), "  PACS ", "already exists")


def test_node_name_at_sign_rejected():
    message = _rejects(check_node_name, "PACS@10.0.0.5", "'@'", "AE@HOST:PORT")
    assert "PACS@10.0.0.5" in message


@pytest.mark.parametrize("value", ["", "   "])
def test_node_name_empty(value):
    _rejects(check_node_name, value, "empty")


def test_node_name_too_long():
    _rejects(check_node_name, "n" * 65, "65", "64")


@pytest.mark.parametrize("value", ["a\tb", "a\nb", "x\x00"])
def test_node_name_control_characters(value):
    _rejects(check_node_name, value, "control characters")


def test_node_name_not_text():
    _rejects(check_node_name, 7, "node name", "text")


# --- timeouts and PDU sizes ------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [(1, 1.0), (0.5, 0.5), ("30", 30.0), ("2.5", 2.5), (3600, 3600.0)])
def test_timeout_accepts(value, expected):
    result = check_timeout(value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize("value", [0, -1, "0", 3600.5, 3601, float("nan"), float("inf"), "-inf", "nan"])
def test_timeout_out_of_range(value):
    _rejects(check_timeout, value, "more than 0", "3600 seconds")


@pytest.mark.parametrize("value", [True, False, None, "abc", "", [5]])
def test_timeout_not_a_number(value):
    _rejects(check_timeout, value, "number of seconds")


def test_timeout_names_the_setting():
    _rejects(lambda v: check_timeout(v, "dimse_timeout"), 0, "dimse_timeout")


@pytest.mark.parametrize("value, expected", [(0, 0), (4096, 4096), (16384, 16384), ("65536", 65536),
                                             (2**32 - 1, 2**32 - 1)])
def test_max_pdu_accepts(value, expected):
    assert check_max_pdu(value) == expected


@pytest.mark.parametrize("value", [1, 4095, -1, 2**32, "4095"])
def test_max_pdu_out_of_range(value):
    _rejects(check_max_pdu, value, "out of range", "4096", "0 for unlimited")


@pytest.mark.parametrize("value", [True, 16384.0, None, "abc", "", "-4096", "²"],
                         ids=["True", "float", "None", "abc", "empty", "negative", "superscript-2"])
def test_max_pdu_not_a_whole_number(value):
    _rejects(check_max_pdu, value, "whole number of bytes")


# --- AE@HOST:PORT ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ORTHANC@10.0.0.5:4242", ("ORTHANC", "10.0.0.5", 4242)),
        ("PACS@pacs.example.org:104", ("PACS", "pacs.example.org", 104)),
        ("AE@[::1]:104", ("AE", "::1", 104)),
        ("AE@[2001:db8::5]:11112", ("AE", "2001:db8::5", 11112)),
        ("  STORE SCP @localhost:11112  ", ("STORE SCP", "localhost", 11112)),
        ("X" * 16 + "@h:1", ("X" * 16, "h", 1)),
    ],
)
def test_parse_address(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["PACS", "PACS@10.0.0.5", "@10.0.0.5:104", "PACS@:104", "PACS@10.0.0.5:",
                                  "AE@::1:104", "AE@[::1]", "PACS 10.0.0.5 104", ""])
def test_parse_address_wrong_shape(text):
    message = _rejects(parse_address, text, "AE@HOST:PORT", "for example")
    assert repr(text) in message


@pytest.mark.parametrize(
    "text, words",
    [
        ("X" * 17 + "@h:104", ("17", "16")),
        ("A\\B@h:104", ("backslash",)),
        ("AE@h:0", ("1 to 65535",)),
        ("AE@h:70000", ("1 to 65535",)),
        ("AE@h:abc", ("whole number",)),
        ("AE@[::1]:99999", ("1 to 65535",)),
        ("AE@999.1.1.1:104", ("IPv4",)),
        ("AE@a..b:104", ("host name",)),
        ("AE@-x:104", ("host name",)),
    ],
)
def test_parse_address_bad_parts(text, words):
    _rejects(parse_address, text, *words)


def _config() -> Config:
    return Config(nodes=[Node("pacs", "PACS", "10.0.0.5", 104, description="main"),
                         Node("ct", "CT1", "ct.example.org", 4242)])


def test_resolve_target_by_name_any_case():
    config = _config()
    assert resolve_target("pacs", config) is config.nodes[0]
    assert resolve_target("  PaCs ", config) is config.nodes[0]
    assert resolve_target("CT", config).ae_title == "CT1"


def test_resolve_target_address_builds_an_unnamed_node():
    node = resolve_target("ORTHANC@[::1]:4242", _config())
    assert (node.name, node.ae_title, node.host, node.port) == ("ORTHANC@[::1]:4242", "ORTHANC", "::1", 4242)
    assert node.address == "ORTHANC@[::1]:4242"
    assert node.description == "" and node.timeout is None and node.max_pdu is None


def test_resolve_target_this_machine_is_the_receiver_unless_a_node_has_that_name():
    from dicomtui.config.model import LocalAE

    config = Config(local=LocalAE(ae_title="HERE", port=4006, bind="0.0.0.0"), nodes=_config().nodes)
    node = resolve_target(" This Machine ", config)  # as the Worklist screen's presets name it
    assert (node.name, node.ae_title, node.host, node.port) == ("this machine", "HERE", "127.0.0.1", 4006)
    config.local.bind = "::"
    assert resolve_target("this machine", config).host == "::1"
    config.nodes.append(Node("this machine", "OTHER", "10.0.0.9", 104))
    assert resolve_target("this machine", config) is config.nodes[-1]


def test_resolve_target_unknown_name_lists_nodes():
    message = _rejects(lambda t: resolve_target(t, _config()), "mr", "no node named", "pacs, ct", "AE@HOST:PORT")
    assert "'mr'" in message


def test_resolve_target_unknown_name_with_no_nodes():
    _rejects(lambda t: resolve_target(t, Config()), "pacs", "no node named", "none")


def test_resolve_target_bad_address_explains_the_part():
    _rejects(lambda t: resolve_target(t, _config()), "PACS@h:65536", "1 to 65535")


def test_node_address_brackets_ipv6_only():
    assert Node("a", "A", "::1", 104).address == "A@[::1]:104"
    assert Node("a", "A", "10.0.0.5", 104).address == "A@10.0.0.5:104"
    assert parse_address(Node("a", "A", "fe80::2", 5).address) == ("A", "fe80::2", 5)
