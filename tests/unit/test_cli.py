"""`python -m dicomtui ...` as scripts and cron see it: stdout, stderr and exit codes.

Each run is a real subprocess with its own XDG folders under tmp_path. Runs that do not
depend on each other are started together (see `_run_all`) to keep the module fast.
"""

from __future__ import annotations

import json
import re
import socket
from datetime import datetime

import pytest

from dicomtui.config import ConfigFile, Node
from dicomtui.store.echo_log import EchoLog

from ..cli_runner import Home, Run, finish, run, run_all, start


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def assert_clean_usage_error(run: Run, *words: str) -> None:
    """Exit 2, nothing on stdout, a short message in words on stderr, never a traceback."""
    assert run.code == 2, run
    assert "Traceback" not in run.err, run
    assert run.out == "", run
    assert run.err.endswith("\n") and run.err.strip(), run
    lines = run.err.strip().splitlines()
    if lines[0].startswith("usage:"):  # argparse: usage, then one "dicomtui ...: error: ..." line
        assert re.match(r"dicomtui( \w+)*: error: ", lines[-1]), run
        message = lines[-1].split(": error: ", 1)[1]
    else:
        assert len(lines) == 1 and lines[0].startswith("dicomtui: "), run
        message = lines[0][len("dicomtui: "):]
    assert 1 <= len(_sentences(message)) <= 2, run
    for word in words:
        assert word in message, (word, str(run))


def _write_config(home: Home, text: str) -> bytes:
    home.config.parent.mkdir(parents=True, exist_ok=True)
    home.config.write_text(text, encoding="utf-8")
    return home.config.read_bytes()


# --- an empty setup --------------------------------------------------------------------


def test_no_config_file_yet(home):
    runs = run_all(home, {
        "json": ("nodes", "list", "--json"),
        "path": ("config", "path"),
        "validate": ("config", "validate"),
    })
    for r in runs.values():
        assert r.code == 0 and r.err == "", r
    assert json.loads(runs["json"].out) == []
    assert runs["path"].out == f"{home.config}\n"
    assert "no config file yet" in runs["validate"].out
    assert "DICOMTUI" in runs["validate"].out and "11112" in runs["validate"].out
    assert not home.config.exists()  # reading never creates the file
    assert not home.config.parent.exists()


# --- managing nodes --------------------------------------------------------------------


def test_nodes_add_list_show_remove(home):
    r = run(home, "nodes", "add", "pacs", "PACS@10.0.0.5:104", "--description", "Main PACS")
    assert r.code == 0 and r.err == "", r
    assert r.out == f"added node 'pacs': PACS@10.0.0.5:104  (config: {home.config})\n"
    r = run(home, "nodes", "add", "v6", "ORTHANC@[::1]:4242", "--timeout", "5", "--max-pdu", "16384")
    assert r.code == 0 and "ORTHANC@[::1]:4242" in r.out, r
    assert home.config.is_file()

    runs = run_all(home, {
        "json": ("nodes", "list", "--json"),
        "text": ("nodes", "list"),
        "show-json": ("nodes", "show", "PACS", "--json"),  # any case finds the node
        "show-text": ("nodes", "show", "v6"),
    })
    for r in runs.values():
        assert r.code == 0 and r.err == "", r
    assert json.loads(runs["json"].out) == [
        {"name": "pacs", "ae_title": "PACS", "host": "10.0.0.5", "port": 104, "description": "Main PACS"},
        {"name": "v6", "ae_title": "ORTHANC", "host": "::1", "port": 4242, "description": ""},
    ]
    table = runs["text"].out.splitlines()
    assert table[0].split() == ["NAME", "AE", "TITLE", "HOST", "PORT", "LAST", "ECHO", "DESCRIPTION"]
    assert table[1].split() == ["pacs", "PACS", "10.0.0.5", "104", "never", "Main", "PACS"]
    assert table[2].split() == ["v6", "ORTHANC", "::1", "4242", "never"]
    shown = json.loads(runs["show-json"].out)
    assert {k: shown[k] for k in ("name", "ae_title", "host", "port", "description", "last_echo")} == {
        "name": "pacs", "ae_title": "PACS", "host": "10.0.0.5", "port": 104, "description": "Main PACS",
        "last_echo": None,
    }
    assert shown["timeout"] is None and shown["max_pdu"] is None
    text = runs["show-text"].out
    assert re.search(r"^timeout:\s+5 s$", text, re.M) and re.search(r"^max_pdu:\s+16384$", text, re.M), text
    assert re.search(r"^last echo:\s+never$", text, re.M), text

    r = run(home, "nodes", "remove", "V6")
    assert r.code == 0 and r.err == "" and r.out == "removed node 'v6' (ORTHANC@[::1]:4242)\n", r
    assert ConfigFile(home.config).config.node_names() == ["pacs"]


def test_config_option_before_and_after_the_subcommand_and_env(home):
    other = home.root / "elsewhere.toml"
    ConfigFile(other).add_node(Node("remote", "REMOTE", "10.1.1.1", 104))
    f = str(other)
    started = {
        "first": start(home, ("--config", f, "nodes", "list", "--json")),
        "middle": start(home, ("nodes", "--config", f, "show", "remote", "--json")),
        "last": start(home, ("config", "validate", "--config", f)),
        "path": start(home, ("--config", f, "config", "path")),
        "env": start(home, ("config", "path"), {"DICOMTUI_CONFIG": f}),
        "override": start(home, ("config", "path", "--config", str(home.root / "x.toml")),
                           {"DICOMTUI_CONFIG": f}),
    }
    runs = {key: finish(s) for key, s in started.items()}
    for r in runs.values():
        assert r.code == 0 and r.err == "", r
    assert [n["name"] for n in json.loads(runs["first"].out)] == ["remote"], runs["first"]
    assert json.loads(runs["middle"].out)["ae_title"] == "REMOTE", runs["middle"]
    assert runs["last"].out == f"{other}: OK (1 node, local AE DICOMTUI on port 11112)\n", runs["last"]
    assert runs["path"].out == runs["env"].out == f"{other}\n"
    assert runs["override"].out == f"{home.root / 'x.toml'}\n"  # --config beats the variable
    assert not home.config.exists()


# --- bad input: exit 2, one or two sentences, nothing changed ---------------------------

BAD_INPUT = {
    "ae-title-17": (("nodes", "add", "x", "AAAAAAAAAAAAAAAAA@h:104"), ("17", "16")),
    "port-range": (("nodes", "add", "x", "AE@h:70000"), ("70000", "1 to 65535")),
    "port-superscript": (("nodes", "add", "x", "AE@h:²"), ("whole number",)),
    "duplicate": (("nodes", "add", "PACS", "OTHER@h:1"), ("already exists",)),
    "show-unknown": (("nodes", "show", "nope"), ("no node named 'nope'", "pacs")),
    "echo-unknown": (("echo", "nope"), ("no node named 'nope'", "AE@HOST:PORT")),
    "count-0": (("echo", "pacs", "--count", "0"), ("--count", "1 or more")),
    "unknown-flag": (("echo", "pacs", "--bogus"), ("--bogus",)),
    "unknown-flag-no-command": (("--bogus",), ("--bogus",)),
    "missing-action": (("nodes",), ("ACTION",)),
    "jobs-unknown-action": (("jobs", "bogus"), ("'bogus'", "'resume'")),
}


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("bad-input"))
    original = _write_config(home, '[[nodes]]\nname = "pacs"\nae_title = "PACS"\nhost = "10.0.0.5"\nport = 104\n')
    runs = run_all(home, {key: args for key, (args, _) in BAD_INPUT.items()})
    return home, original, runs


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_exits_2_with_a_sentence(bad_input_runs, case):
    _, _, runs = bad_input_runs
    assert_clean_usage_error(runs[case], *BAD_INPUT[case][1])


def test_the_internal_jobs_action_is_never_offered(bad_input_runs):
    _, _, runs = bad_input_runs
    assert "'run'" not in runs["jobs-unknown-action"].err, runs["jobs-unknown-action"]


def test_bad_input_changes_nothing(bad_input_runs):
    home, original, _ = bad_input_runs
    assert home.config.read_bytes() == original
    assert {p.name for p in home.config.parent.iterdir()} == {"config.toml"}
    assert not home.state.exists()  # nothing was echoed, so nothing recorded


# --- a broken config: every command refuses, exit 2, the file untouched -----------------

BROKEN = """\
# broken on purpose
[local]
ae_title = "AAAAAAAAAAAAAAAAA"
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
host = "127.0.0.1"
port = 11112

[[nodes]]
name = "X"
ae_title = "X2"
host = "x2"
port = 11113
"""
BROKEN_LINES = (3, 4, 10, 12, 24)

BROKEN_COMMANDS = {
    "list-json": ("nodes", "list", "--json"),
    "add": ("nodes", "add", "new", "NEW@h:1"),
    "remove": ("nodes", "remove", "x"),
    "show-json": ("nodes", "show", "x", "--json"),
    "echo-node": ("echo", "x"),
}


@pytest.fixture(scope="module")
def broken_runs(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("broken"))
    original = _write_config(home, BROKEN)
    cases = dict(BROKEN_COMMANDS, validate=("config", "validate"))
    return home, original, run_all(home, cases)


@pytest.mark.parametrize("case", list(BROKEN_COMMANDS))
def test_broken_config_refuses_every_command(broken_runs, case):
    home, _, runs = broken_runs
    r = runs[case]
    assert r.code == 2, r
    assert r.out == "", r
    assert "Traceback" not in r.err, r
    assert r.err.startswith(f"dicomtui: the config file {home.config} has problems; it was not changed:\n"), r
    for line in BROKEN_LINES:
        assert f"{home.config}:{line}: " in r.err, (line, str(r))
    assert "dicomtui config validate" in r.err


def test_broken_config_validate_lists_every_problem(broken_runs):
    home, _, runs = broken_runs
    r = runs["validate"]
    assert r.code == 2, r
    assert "Traceback" not in r.err
    report = r.out + r.err
    lines = [line for line in report.splitlines() if line.startswith(f"{home.config}:")]
    assert [int(line.split(":")[1]) for line in lines] == list(BROKEN_LINES), r
    assert "70000" in lines[1] and "without quotes" in lines[2] and "'host' is missing" in lines[3]
    assert "already exists" in lines[4]
    assert "5 problems" in report


def test_broken_config_is_left_byte_for_byte(broken_runs):
    home, original, _ = broken_runs
    assert home.config.read_bytes() == original
    assert {p.name for p in home.config.parent.iterdir()} == {"config.toml"}
    assert not home.state.exists()


def test_unreadable_configs_exit_2_without_traceback(home):
    syntax = home.root / "syntax.toml"
    syntax.write_text('[local]\nport = 104\n\n[[nodes]]\nname = "a"\nport = = 1\n')
    latin1 = home.root / "latin1.toml"
    latin1.write_bytes(b'[local]\nae_title = "M\xfcller"\n')
    folder = home.root / "folder"
    folder.mkdir()
    before = {p: p.read_bytes() for p in (syntax, latin1)}
    runs = run_all(home, {
        "syntax-add": ("nodes", "add", "b", "B@h:1", "--config", str(syntax)),
        "latin1-validate": ("config", "validate", "--config", str(latin1)),
        "folder-add": ("--config", str(folder), "nodes", "add", "b", "B@h:1"),
    })
    for r in runs.values():
        assert r.code == 2, r
        assert "Traceback" not in r.err, r
    assert f"{syntax}:6: not valid TOML" in runs["syntax-add"].err
    assert "UTF-8" in runs["latin1-validate"].out + runs["latin1-validate"].err
    assert "folder" in runs["folder-add"].err
    assert {p: p.read_bytes() for p in (syntax, latin1)} == before
    assert list(folder.iterdir()) == []


def test_duplicate_key_in_config_exits_2_without_traceback(home):
    """`port` written twice in [local]: tomlkit raises KeyAlreadyPresent, which load() does not catch."""
    original = _write_config(home, "[local]\nport = 104\nport = 105\n")
    r = run(home, "config", "validate")
    assert "Traceback" not in r.err, r
    assert r.code == 2, r
    assert f"{home.config}:3: " in r.out + r.err and "port" in r.out + r.err, r
    assert home.config.read_bytes() == original


def test_add_after_removing_the_last_node(home):
    """The remove leaves `nodes = []` in the file; the next `nodes add` must still work."""
    file = ConfigFile(home.config)
    file.add_node(Node("a", "A", "h", 1))
    file.remove_node("a")
    r = run(home, "nodes", "add", "b", "B@h:2")
    assert "Traceback" not in r.err, r
    assert r.code == 0, r
    assert ConfigFile(home.config).config.node_names() == ["b"]


# --- echo ------------------------------------------------------------------------------


def test_echo_to_a_closed_port(home):
    port = _free_port()
    target = f"ECHO@127.0.0.1:{port}"
    runs = run_all(home, {"json": ("echo", target, "--json"), "text": ("echo", target, "--timeout", "5")})

    r = runs["json"]
    assert r.code == 3, r
    result = json.loads(r.out)
    assert list(result) == ["target", "ok", "rtt_ms", "error"]
    assert result["target"] == target and result["ok"] is False and result["rtt_ms"] == []
    assert "refused" in result["error"] and str(port) in result["error"]
    # Our own one line, and nothing from pynetdicom's logger.
    assert r.err == f"dicomtui: echo {target}: {result['error']}\n", r

    r = runs["text"]
    assert r.code == 3, r
    assert r.out == f"C-ECHO {target} from DICOMTUI\n", r
    assert r.err == f"dicomtui: echo {target}: {result['error']}\n", r
    assert 1 <= len(_sentences(result["error"])) <= 2
    # An address is not a node: nothing is recorded for it.
    assert not home.state.exists() or EchoLog(home.state).latest() == {}


def test_echo_to_a_node_records_the_result(home):
    port = _free_port()
    file = ConfigFile(home.config)
    file.add_node(Node("keep", "KEEP", "127.0.0.1", port))
    file.add_node(Node("dead", "ECHO", "127.0.0.1", port, description="closed"))
    r = run(home, "echo", "DEAD")  # any case finds the node; the record is under its name
    assert r.code == 3, r
    assert r.out == f"C-ECHO ECHO@127.0.0.1:{port} from DICOMTUI\n"
    assert len(r.err.splitlines()) == 1 and "refused" in r.err and "Traceback" not in r.err, r

    runs = run_all(home, {"show": ("nodes", "show", "dead", "--json"), "list": ("nodes", "list")})
    for r in runs.values():
        assert r.code == 0 and r.err == "", r
    last = json.loads(runs["show"].out)["last_echo"]
    assert last is not None
    assert set(last) == {"at", "ok", "rtt_ms", "error"}
    assert last["ok"] is False and last["rtt_ms"] is None and "refused" in last["error"]
    at = datetime.strptime(last["at"], "%Y-%m-%dT%H:%M:%S%z")
    assert abs(at.timestamp() - datetime.now().timestamp()) < 120
    rows = {line.split()[0]: line for line in runs["list"].out.splitlines()[1:]}
    assert "FAILED" in rows["dead"] and "never" in rows["keep"], runs["list"]

    # Removing the node forgets its history; a new node of that name starts clean.
    r = run(home, "nodes", "remove", "dead")
    assert r.code == 0, r
    ConfigFile(home.config).add_node(Node("dead", "ECHO", "127.0.0.1", port))
    assert EchoLog(home.state).latest() == {}
    assert ConfigFile(home.config).config.node_names() == ["keep", "dead"]


def test_send_uses_several_associations_unless_told():
    from dicomtui.cli import build_parser
    from dicomtui.engine.send_limits import DEFAULT_PARALLEL

    assert build_parser().parse_args(["send", "pacs", "/data"]).parallel == DEFAULT_PARALLEL == 4
    assert build_parser().parse_args(["send", "pacs", "/data", "--parallel", "1"]).parallel == 1
