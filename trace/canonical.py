"""Transitional: moved to farmtrace.trace.model.canonical; this module re-exports it for old imports."""

from .model.canonical import canonical_json, wire_json

__all__ = ["canonical_json", "wire_json"]
