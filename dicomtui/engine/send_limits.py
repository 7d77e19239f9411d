"""How many associations a send may open: here, not in engine/send/, so that the CLI and the screens can
name them without importing the send engine (and pydicom) on start-up."""

MAX_PARALLEL = 16
# The default: measured with tests/bench/send.py into storescp --fork, 4 associations moved 2,000 x 20 KB
# 31 % faster than one and 200 x 512 KB 8 % faster; a batch opens only as many as it has files and bytes
# for (engine/send/run.py), so small sends still use one.
DEFAULT_PARALLEL = 4
