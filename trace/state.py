"""Transitional: moved to farmtrace.trace.rules.memory (issue 15); this module re-exports it."""

from .rules.memory import MemoryState

__all__ = ["MemoryState"]
