"""Shared pytest configuration.

Real-peer fixtures (dcmtk, Orthanc, silent peer) live in tests/peers/fixtures.py; the CLI
sandbox ('home') in tests/cli_runner.py.
"""

import pytest

pytest_plugins = ["tests.peers.fixtures", "tests.cli_runner", "tests.peers.receiver_fixtures"]


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may read or write the real user's config, state or archive."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.delenv("DICOMTUI_CONFIG", raising=False)
