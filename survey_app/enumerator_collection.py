"""(being written)"""

from __future__ import annotations

from .enumerator import bp  # noqa: F401
