"""The TOML config: defaults, node edits that keep a hand-written file intact, broken files
reported all at once and never overwritten, and where the files live."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dicomtui import paths
from dicomtui.config import (
    DEFAULT_AE_TITLE,
    DEFAULT_PORT,
    Config,
    ConfigError,
    ConfigFile,
    Node,
    Problem,
    load,
)
from dicomtui.dicom.validation import InvalidValue


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """No test may read or write the real user's config or state."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv(paths.CONFIG_ENV, raising=False)


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# A file as a person writes it: comments everywhere, keys in their own order, a key and a
# table dicomtui does not know.
HAND_WRITTEN = """\
# Radiology department nodes.
# Edited by hand; please keep the comments.

[local]
port = 11113   # the receiver's port
# the AE title our PACS knows us by
ae_title = "WORKSTATION1"
colour = "blue"

[[nodes]]
# the main PACS, behind the load balancer
host = "10.0.0.5"    # PACS VIP
name = "pacs"
port = 104
ae_title = "PACS"  # called AE
favourite = true

[[nodes]]
name = "ct"
ae_title = "CT1"
host = "ct.example.org"
port = 4242
description = "CT scanner, room 2"

[keymap]
"nodes.echo" = "e"   # key for echo
"""

CT_BLOCK = """\
[[nodes]]
name = "ct"
ae_title = "CT1"
host = "ct.example.org"
port = 4242
description = "CT scanner, room 2"

"""

PACS_BLOCK = """\
[[nodes]]
# the main PACS, behind the load balancer
host = "10.0.0.5"    # PACS VIP
name = "pacs"
port = 104
ae_title = "PACS"  # called AE
favourite = true

"""


@pytest.fixture
def hand_written(tmp_path) -> Path:
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir()
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    return path


# --- a missing file --------------------------------------------------------------------


def test_missing_file_gives_defaults_and_is_not_created(tmp_path):
    path = tmp_path / "nowhere" / "config.toml"
    loaded = load(path)
    assert loaded.ok and loaded.problems == [] and not loaded.exists
    assert loaded.config.local.ae_title == DEFAULT_AE_TITLE == "DICOMTUI"
    assert loaded.config.local.port == DEFAULT_PORT == 11112
    assert loaded.config.local.bind == "0.0.0.0"
    assert loaded.config.local.storage is None
    assert loaded.config.nodes == []

    file = ConfigFile(path)
    assert file.require_ok() == Config()
    assert not path.exists()
    assert not path.parent.exists()  # not even the folder


def test_first_change_creates_the_file_with_a_commented_header(tmp_path):
    path = tmp_path / "new" / "sub" / "config.toml"
    file = ConfigFile(path)
    file.add_node(Node("pacs", "PACS", "10.0.0.5", 104))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# dicomtui configuration.")
    assert "[local]" in text and 'ae_title = "DICOMTUI"' in text and "port = 11112" in text
    assert text.index("[local]") < text.index("[[nodes]]")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _files(path.parent) == {"config.toml"}
    again = load(path)
    assert again.ok and again.notes == []
    assert again.config.nodes == [Node("pacs", "PACS", "10.0.0.5", 104)]
    assert again.config.local.ae_title == "DICOMTUI"


# --- node edits ------------------------------------------------------------------------


def test_add_update_remove_round_trip(tmp_path):
    path = tmp_path / "config.toml"
    file = ConfigFile(path)
    pacs = Node("pacs", "PACS", "10.0.0.5", 104, description="Main PACS")
    ct = Node("ct", "CT1", "2001:db8::7", 4242, timeout=5.0, dimse_timeout=60.0, max_pdu=16384)
    file.add_node(pacs)
    file.add_node(ct)
    assert file.config.nodes == [pacs, ct]  # the object sees its own change
    assert ConfigFile(path).config.nodes == [pacs, ct]  # and so does a new reader

    moved = Node("pacs", "PACS2", "pacs.example.org", 11112, description="")
    file.update_node("PACS", moved)  # names compare without regard to case
    assert ConfigFile(path).config.nodes == [moved, ct]
    assert "description" not in path.read_text()  # an emptied description is removed, not ""

    cleared = Node("ct", "CT1", "2001:db8::7", 4242)
    file.update_node("ct", cleared)
    text = path.read_text()
    assert "timeout" not in text and "max_pdu" not in text
    assert ConfigFile(path).config.node("ct") == cleared

    file.remove_node("Ct")
    assert ConfigFile(path).config.nodes == [moved]
    file.remove_node("pacs")
    assert ConfigFile(path).config.nodes == []
    assert ConfigFile(path).problems == []


def test_rename_to_another_case_of_itself_is_allowed(tmp_path):
    path = tmp_path / "config.toml"
    file = ConfigFile(path)
    file.add_node(Node("pacs", "PACS", "h", 104))
    file.update_node("pacs", Node("PACS", "PACS", "h", 104))
    assert ConfigFile(path).config.node_names() == ["PACS"]


def test_refused_edits_leave_the_file_alone(tmp_path):
    path = tmp_path / "config.toml"
    file = ConfigFile(path)
    file.add_node(Node("pacs", "PACS", "h", 104))
    file.add_node(Node("ct", "CT", "h", 105))
    before = path.read_bytes()

    with pytest.raises(InvalidValue, match="already exists"):
        file.add_node(Node("PACS", "OTHER", "h", 1))
    with pytest.raises(InvalidValue, match="already exists"):
        file.update_node("ct", Node("Pacs", "CT", "h", 105))  # rename onto another node
    with pytest.raises(InvalidValue, match=r"no node named 'mr' \(nodes: pacs, ct\)"):
        file.update_node("mr", Node("mr", "MR", "h", 1))
    with pytest.raises(InvalidValue, match="no node named 'mr'"):
        file.remove_node("mr")
    # A node that could not be read back (validation bypassed) is never written.
    with pytest.raises(ConfigError) as info:
        file.add_node(Node("mr", "MR", "h", 70000))
    assert "70000" in str(info.value)
    with pytest.raises(ConfigError):
        file.update_node("pacs", Node("pacs", "X" * 17, "h", 104))

    assert path.read_bytes() == before
    assert _files(tmp_path) == {"config.toml"}


def test_changes_reread_the_file_so_hand_edits_survive(tmp_path):
    path = tmp_path / "config.toml"
    app = ConfigFile(path)  # e.g. the TUI, open for a while
    app.add_node(Node("pacs", "PACS", "h", 104))
    # Meanwhile, someone edits the file by hand.
    edited = path.read_text() + '\n[[nodes]]\nname = "byhand"\nae_title = "HAND"\nhost = "h"\nport = 1\n'
    path.write_text(edited)
    app.add_node(Node("ct", "CT", "h", 2))
    assert ConfigFile(path).config.node_names() == ["pacs", "byhand", "ct"]
    assert path.read_text().startswith(edited)


# --- a hand-written file keeps everything but the change --------------------------------


def test_hand_written_file_loads_with_notes_for_unknown_keys(hand_written):
    loaded = load(hand_written)
    assert loaded.problems == []
    assert loaded.config.local.ae_title == "WORKSTATION1"
    assert loaded.config.local.port == 11113
    assert [n.name for n in loaded.config.nodes] == ["pacs", "ct"]
    assert loaded.config.nodes[0] == Node("pacs", "PACS", "10.0.0.5", 104)
    notes = sorted((n.line, n.message) for n in loaded.notes)
    assert len(notes) == 2
    assert notes[0][0] == 8 and "colour" in notes[0][1] and "kept" in notes[0][1]
    assert notes[1][0] == 16 and "favourite" in notes[1][1] and "pacs" in notes[1][1]


def test_update_changes_only_the_changed_value(hand_written):
    ConfigFile(hand_written).update_node("pacs", Node("pacs", "PACS", "10.0.0.6", 104))
    expected = HAND_WRITTEN.replace('host = "10.0.0.5"    # PACS VIP', 'host = "10.0.0.6"    # PACS VIP')
    assert expected != HAND_WRITTEN
    assert hand_written.read_text(encoding="utf-8") == expected


def test_update_of_several_values_keeps_inline_comments_and_order(hand_written):
    ConfigFile(hand_written).update_node(
        "pacs", Node("pacs", "PACS_NEW", "10.0.0.5", 1104, description="Main PACS"))
    expected = (HAND_WRITTEN
                .replace("port = 104\n", "port = 1104\n")
                .replace('ae_title = "PACS"  # called AE\nfavourite = true\n',
                         'ae_title = "PACS_NEW"  # called AE\nfavourite = true\ndescription = "Main PACS"\n'))
    assert hand_written.read_text(encoding="utf-8") == expected


def test_remove_takes_out_exactly_that_table(hand_written):
    ConfigFile(hand_written).remove_node("CT")
    assert hand_written.read_text(encoding="utf-8") == HAND_WRITTEN.replace(CT_BLOCK, "")


def test_remove_first_node_keeps_the_rest(hand_written):
    ConfigFile(hand_written).remove_node("pacs")
    assert hand_written.read_text(encoding="utf-8") == HAND_WRITTEN.replace(PACS_BLOCK, "")


def test_add_keeps_every_original_byte_in_place(hand_written):
    ConfigFile(hand_written).add_node(Node("mr", "MR1", "10.0.0.9", 11112, description="MR"))
    text = hand_written.read_text(encoding="utf-8")
    head, tail = HAND_WRITTEN.split("[keymap]")
    # Everything the user wrote is still there, in order, and untouched; the new node is
    # one more [[nodes]] table after the last one (before [keymap]).
    assert text.startswith(head.rstrip("\n"))
    assert text.endswith("[keymap]" + tail)
    loaded = load(hand_written)
    assert loaded.problems == []
    assert [n.name for n in loaded.config.nodes] == ["pacs", "ct", "mr"]
    assert loaded.config.local.ae_title == "WORKSTATION1"


def test_add_before_a_following_table_separates_tables_by_one_blank_line(hand_written):
    """The new [[nodes]] table sits between the last node and [keymap] with one blank line on
    each side, as a person would write it (save.add_node says so)."""
    ConfigFile(hand_written).add_node(Node("mr", "MR1", "10.0.0.9", 11112, description="MR"))
    new_table = '[[nodes]]\nname = "mr"\nae_title = "MR1"\nhost = "10.0.0.9"\nport = 11112\ndescription = "MR"\n'
    expected = HAND_WRITTEN.replace("[keymap]", new_table + "\n[keymap]")
    assert hand_written.read_text(encoding="utf-8") == expected


def test_add_at_end_of_file_appends_one_separated_table(tmp_path):
    path = tmp_path / "config.toml"
    original = '# mine\n[local]\nae_title = "X"  # me\n\n[[nodes]]\nname = "a"\nae_title = "A"\nhost = "h"\nport = 1\n'
    path.write_text(original)
    file = ConfigFile(path)
    file.add_node(Node("b", "B", "h", 2))
    file.add_node(Node("c", "C", "h", 3))
    assert path.read_text() == (original + '\n[[nodes]]\nname = "b"\nae_title = "B"\nhost = "h"\nport = 2\n'
                                '\n[[nodes]]\nname = "c"\nae_title = "C"\nhost = "h"\nport = 3\n')


def test_removing_every_node_leaves_no_stray_line(hand_written):
    """Removing the last node must not leave `nodes = []` (tomlkit puts it above the user's
    top comment, as the first line of the file)."""
    file = ConfigFile(hand_written)
    file.remove_node("pacs")
    file.remove_node("ct")
    text = hand_written.read_text(encoding="utf-8")
    assert text.startswith("# Radiology department nodes.\n")
    assert "nodes = []" not in text
    assert text == HAND_WRITTEN.replace(PACS_BLOCK, "").replace(CT_BLOCK, "")


def test_add_after_removing_every_node(tmp_path):
    """add -> remove -> add: the second add must work (today the empty `nodes = []` array
    left by the remove makes it produce text that tomlkit cannot parse, and the ParseError
    escapes as a traceback from `dicomtui nodes add`)."""
    path = tmp_path / "config.toml"
    file = ConfigFile(path)
    file.add_node(Node("a", "A", "h", 1))
    file.remove_node("a")
    file.add_node(Node("b", "B", "h", 2))
    loaded = load(path)
    assert loaded.problems == []
    assert loaded.config.nodes == [Node("b", "B", "h", 2)]


def test_crlf_file_keeps_its_line_endings(tmp_path):
    """A file saved with Windows line endings is still byte-for-byte the same outside the change."""
    path = tmp_path / "config.toml"
    original = b'# mine\r\n[local]\r\nae_title = "X"  # me\r\n\r\n[[nodes]]\r\nname = "a"\r\nae_title = "A"\r\n' \
               b'host = "h"\r\nport = 1\r\n'
    path.write_bytes(original)
    ConfigFile(path).update_node("a", Node("a", "A", "h", 2))
    assert path.read_bytes() == original.replace(b"port = 1\r\n", b"port = 2\r\n")


# --- the write is atomic ---------------------------------------------------------------


def test_write_replaces_the_file_and_leaves_no_temp_files(hand_written):
    os.chmod(hand_written, 0o640)
    folder = hand_written.parent
    file = ConfigFile(hand_written)
    with open(hand_written, encoding="utf-8") as old:  # a reader that opened the file before the change
        file.add_node(Node("mr", "MR", "h", 1))
        file.update_node("mr", Node("mr", "MR", "h", 2))
        file.remove_node("pacs")
        # The file was replaced, not rewritten in place: the old reader still sees the old text whole.
        assert old.read() == HAND_WRITTEN
    assert _files(folder) == {"config.toml"}
    assert stat.S_IMODE(hand_written.stat().st_mode) == 0o640
    assert [n.name for n in load(hand_written).config.nodes] == ["ct", "mr"]


# --- broken files ----------------------------------------------------------------------

BROKEN = """\
# broken on purpose: several mistakes at once
[local]
ae_title = "AAAAAAAAAAAAAAAAA"   # 17 characters
port = 70000

[[nodes]]
name = "pacs"
ae_title = "PACS"
host = "10.0.0.5"
port = "104"

[[nodes]]
name = "ct"
ae_title = "CT"
port = 4242

[[nodes]]
name = "x"
ae_title = "X"
host = "x.example.org"
port = 11112

[[nodes]]
# same name as above, other case
port = 11113
name = "X"
ae_title = "X2"
host = "x2"
"""


def _assert_every_change_refused(path: Path, original: bytes) -> None:
    file = ConfigFile(path)
    folder = path.parent
    before = _files(folder)
    for attempt in (
        lambda: file.add_node(Node("new", "NEW", "h", 1)),
        lambda: file.update_node("pacs", Node("pacs", "PACS", "h", 104)),
        lambda: file.remove_node("pacs"),
        lambda: file.remove_node("x"),
    ):
        with pytest.raises(ConfigError) as info:
            attempt()
        assert info.value.problems  # says why
        assert str(path) in str(info.value)
        assert path.read_bytes() == original
    assert _files(folder) == before
    with pytest.raises(ConfigError):
        file.require_ok()


def test_broken_file_lists_every_problem_with_its_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(BROKEN)
    loaded = load(path)
    assert not loaded.ok
    got = [(p.line, p.message) for p in loaded.problems]
    assert [line for line, _ in got] == [3, 4, 10, 12, 26], got
    expected_words = [
        ("[local]", "ae_title", "17", "16"),
        ("[local]", "port", "70000", "1 to 65535"),
        ("pacs", "port", "without quotes", "'104'"),
        ("ct", "'host' is missing"),
        ("'X'", "already exists"),
    ]
    for (_, message), words in zip(got, expected_words, strict=True):
        for word in words:
            assert word in message, (word, message)
        assert "\n" not in message and "Traceback" not in message
    # The valid nodes are still known (for showing), the broken ones are not half-used.
    assert [n.name for n in loaded.config.nodes] == ["x"]
    formatted = loaded.problems[0].format(path)
    assert formatted.startswith(f"{path}:3: ")


def test_broken_file_is_never_changed(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(BROKEN)
    _assert_every_change_refused(path, BROKEN.encode())


def test_config_error_lists_all_problems(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(BROKEN)
    with pytest.raises(ConfigError) as info:
        ConfigFile(path).add_node(Node("new", "NEW", "h", 1))
    assert len(info.value.problems) == 5
    text = str(info.value)
    for line in (3, 4, 10, 12, 26):
        assert f"{path}:{line}: " in text


def test_toml_syntax_error_has_its_line(tmp_path):
    path = tmp_path / "config.toml"
    text = '# fine\n[local]\nport = 11112\n\n[[nodes]]\nname = "pacs"\nport = = 104\nhost = "h"\n'
    path.write_text(text)
    loaded = load(path)
    assert loaded.document is None
    assert len(loaded.problems) == 1
    problem = loaded.problems[0]
    assert problem.line == 7
    assert "not valid TOML" in problem.message and "column" in problem.message
    assert " at line " not in problem.message  # the line is in Problem.line, not repeated
    _assert_every_change_refused(path, text.encode())


def test_unclosed_string_has_its_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[local]\nae_title = "OOPS\nport = 104\n')
    loaded = load(path)
    assert [p.line for p in loaded.problems] == [2]
    assert "not valid TOML" in loaded.problems[0].message


def test_duplicate_table_header_points_at_the_second_header(tmp_path):
    """tomlkit notices a repeated [local] only when that table ends, and load() passes its line
    on: today the problem points at line 9 (the next header), not at the repeated [local] on line 4."""
    path = tmp_path / "config.toml"
    path.write_text('[local]\nport = 1\n\n[local]\nport = 2\nae_title = "X"\nbind = "h"\n\n'
                    '[[nodes]]\nname = "a"\nae_title = "A"\nhost = "h"\nport = 1\n')
    loaded = load(path)
    assert len(loaded.problems) == 1
    assert "local" in loaded.problems[0].message
    assert loaded.problems[0].line == 4


@pytest.mark.parametrize(
    "text, line, key",
    [
        ("[local]\nport = 1\nport = 2\n", 3, "port"),
        ('[[nodes]]\nname = "a"\nae_title = "A"\nname = "b"\nhost = "h"\nport = 1\n', 4, "name"),
    ],
    ids=["in-local", "in-node"],
)
def test_duplicate_key_in_a_table_is_a_problem_not_an_exception(tmp_path, text, line, key):
    """A key written twice inside a table is a common hand-editing slip. tomlkit raises
    KeyAlreadyPresent for it (a TOMLKitError that is not a ParseError), which load() does not
    catch: `dicomtui config validate` dies with a traceback and exit 1."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    loaded = load(path)
    assert len(loaded.problems) == 1
    assert key in loaded.problems[0].message
    assert loaded.problems[0].line == line


def test_duplicate_name_is_found_even_when_the_first_node_is_broken(tmp_path):
    """Every problem at once: a second node reusing a name is a problem whether or not the
    first node with that name has a mistake of its own (today it is only reported once the
    first node is fixed, because names are checked against the valid nodes only)."""
    path = tmp_path / "config.toml"
    path.write_text('[[nodes]]\nname = "pacs"\nae_title = "PACS"\nhost = "h"\nport = 0\n\n'
                    '[[nodes]]\nname = "PACS"\nae_title = "PACS2"\nhost = "h"\nport = 1\n')
    loaded = load(path)
    assert [p.line for p in loaded.problems] == [5, 8]
    assert "already exists" in loaded.problems[1].message


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("local = 5\n", 1, ("'local' must be a table",)),
        ("nodes = 5\n", 1, ("'nodes' must be a list",)),
        ("[local]\nstorage = 5\n", 2, ("storage", "folder")),
        ('[local]\nbind = "a..b"\n', 2, ("bind", "host name")),
        ("[local]\nport = 104.0\n", 2, ("port", "whole number")),
        ("[local]\nport = true\n", 2, ("port", "1 to 65535")),
        ('[[nodes]]\nname = "a"\nae_title = "A"\nhost = "h"\nport = 1\ntimeout = 0\n', 6, ("timeout", "more than 0")),
        ('[[nodes]]\nname = "a"\nae_title = "A"\nhost = "h"\nport = 1\ntimeout = "5"\n', 6,
         ("timeout", "number of seconds")),
        ('[[nodes]]\nname = "a"\nae_title = "A"\nhost = "h"\nport = 1\nmax_pdu = 10\n', 6, ("max_pdu", "4096")),
        ('[[nodes]]\nname = "a"\nae_title = "A"\nhost = "h"\nport = 1\ndescription = 5\n', 6,
         ("description", "text")),
        ('[[nodes]]\nname = "a@b"\nae_title = "A"\nhost = "h"\nport = 1\n', 2, ("'@'",)),
        ("[transfers]\nmax_associations = 0\n", 2, ("max_associations", "from 1 to 64")),
        ("[ui]\ntheme = 3\n", 2, ("theme", "name of a theme")),
        ('[transfers]\nmax_associations_per_node = "2"\n', 2, ("max_associations_per_node", "without quotes")),
        ('\n\n[[ nodes ]]   # spaced header\n  name = "a"\n  ae_title = "A"\n  host = "h"\n  "port" = 70000\n', 7,
         ("70000",)),
    ],
)
def test_semantic_problems_point_at_their_line(tmp_path, text, line, words):
    path = tmp_path / "config.toml"
    path.write_text(text)
    loaded = load(path)
    assert len(loaded.problems) == 1, loaded.problems
    assert loaded.problems[0].line == line
    for word in words:
        assert word in loaded.problems[0].message


def test_non_utf8_file_is_a_problem(tmp_path):
    path = tmp_path / "config.toml"
    original = b'[local]\nae_title = "M\xfcller"\n'
    path.write_bytes(original)
    loaded = load(path)
    assert len(loaded.problems) == 1
    assert "UTF-8" in loaded.problems[0].message
    _assert_every_change_refused(path, original)


def test_directory_as_config_path_is_a_problem(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    loaded = load(folder)
    assert len(loaded.problems) == 1
    assert "folder" in loaded.problems[0].message
    file = ConfigFile(folder)
    with pytest.raises(ConfigError):
        file.add_node(Node("a", "A", "h", 1))
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_problem_format():
    assert Problem("bad", 7).format("/x/c.toml") == "/x/c.toml:7: bad"
    assert Problem("bad").format(Path("/x/c.toml")) == "/x/c.toml: bad"


def test_local_storage_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = tmp_path / "config.toml"
    path.write_text('[local]\nstorage = "~/dicom"\nbind = "127.0.0.1"\n')
    local = load(path).config.local
    assert local.storage == tmp_path / "dicom"
    assert local.bind == "127.0.0.1"


# --- where the files are ---------------------------------------------------------------


def test_config_file_precedence(tmp_path, monkeypatch):
    default = tmp_path / "xdg-config" / "dicomtui" / "config.toml"
    assert paths.config_file() == default
    monkeypatch.setenv("DICOMTUI_CONFIG", str(tmp_path / "env.toml"))
    assert paths.config_file() == tmp_path / "env.toml"
    assert paths.config_file(tmp_path / "explicit.toml") == tmp_path / "explicit.toml"
    assert paths.config_file(str(tmp_path / "explicit.toml")) == tmp_path / "explicit.toml"
    monkeypatch.setenv("DICOMTUI_CONFIG", "")
    assert paths.config_file() == default  # an empty variable is no override


def test_config_paths_expand_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.config_file("~/my.toml") == tmp_path / "home" / "my.toml"
    monkeypatch.setenv("DICOMTUI_CONFIG", "~/env.toml")
    assert paths.config_file() == tmp_path / "home" / "env.toml"


def test_xdg_dirs_relocate_config_and_data(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert paths.config_dir() == tmp_path / "cfg" / "dicomtui"
    assert paths.config_file() == tmp_path / "cfg" / "dicomtui" / "config.toml"
    assert paths.data_dir() == tmp_path / "data" / "dicomtui"
    assert paths.state_db() == tmp_path / "data" / "dicomtui" / "state.sqlite3"
    assert paths.default_storage_dir() == tmp_path / "data" / "dicomtui" / "storage"

    file = ConfigFile(paths.config_file())
    file.add_node(Node("pacs", "PACS", "h", 104))
    assert (tmp_path / "cfg" / "dicomtui" / "config.toml").is_file()
    assert load(paths.config_file()).config.node_names() == ["pacs"]


def test_config_lookup_by_name():
    config = Config(nodes=[Node("Pacs", "P", "h", 1), Node("ct", "C", "h", 2)])
    assert config.node(" PACS ").name == "Pacs"
    assert config.node("mr") is None
    assert config.node_names() == ["Pacs", "ct"]


def test_transfers_limits_are_read(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[transfers]\nmax_associations = 3\nmax_associations_per_node = 1\nspeed = 2\n")
    loaded = load(path)
    assert not loaded.problems
    assert (loaded.config.transfers.max_associations, loaded.config.transfers.max_associations_per_node) == (3, 1)
    assert [n.message for n in loaded.notes] == ["[transfers] unknown key 'speed' is kept but not used"]


def test_ui_mask_phi_is_true_or_false(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[ui]\nmask_phi = true\n')
    assert load(path).config.ui.mask_phi is True and not load(path).problems
    path.write_text('[ui]\ntheme = "dicomtui-light"\nmask_phi = "yes"\n')
    loaded = load(path)
    assert loaded.config.ui.mask_phi is False  # the default stays when the value is wrong
    assert [(p.line, p.message) for p in loaded.problems] == [(3, "[ui] mask_phi: must be true or false, not 'yes'")]
