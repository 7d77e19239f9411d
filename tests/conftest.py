"""Shared pytest configuration.

Real-peer fixtures (dcmtk, Orthanc, silent peer) live in tests/peers/fixtures.py.
"""

pytest_plugins = ["tests.peers.fixtures", "tests.cli_runner"]
