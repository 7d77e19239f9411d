"""Sizes as the screens show them."""

from __future__ import annotations


def size(n: float) -> str:
    """Bytes in B, KB, MB or GB (powers of 1000, one decimal above bytes)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"
