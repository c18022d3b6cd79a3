"""The answer about the national platform's codes (GET /national-codes/{code}), built from
trace/reads/national.py's `CodeMatch`."""

from __future__ import annotations

from pydantic import Field

from farmtrace.trace.reads.national import CodeMatch

from .problems import _Public

__all__ = ["CodeMatchPublic", "CodedLotPublic", "CodedPartyPublic", "code_match_public"]


class CodedPartyPublic(_Public):
    id: str
    name_zh: str
    event_id: str = Field(description="the party.register event whose record gives the 主体码")


class CodedLotPublic(_Public):
    code: str
    product: str
    created_by: str
    event_id: str = Field(description="the event that created the lot and gives its 追溯码")


class CodeMatchPublic(_Public):
    """The parties whose 主体码, and the lots whose 追溯码, is `code`."""

    code: str
    parties: list[CodedPartyPublic]
    lots: list[CodedLotPublic]


def code_match_public(match: CodeMatch) -> CodeMatchPublic:
    return CodeMatchPublic.model_validate(match.to_wire())
