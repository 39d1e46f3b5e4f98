"""(being written)"""

from __future__ import annotations

from .staff import bp  # noqa: F401
