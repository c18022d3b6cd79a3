"""Wire models: the `XPublic` model of every JSON answer, and the OpenAPI document's error responses.

Answers: each JSON route names its model (`response_model=XPublic`), so /openapi.json describes
what it answers and schemathesis (tests/api/test_openapi.py) holds the routes to it; the models
keep the keys and their order exactly as the routes wrote them before (tests/api/test_answers.py
compares the bytes). A route builds its answer from the domain's typed answer (trace/reads/)
with the `x_public` function beside the model.

    problems   Problem, problems(), install_openapi(): the error responses; `_Public`, every model's base
    lots       LotPublic, TraceGraphPublic, RecallReportPublic and their parts
    journeys   JourneyPublic and its parts (the shape verify.js checks)
    parties    PartyPublic, PartyPrivatePublic, ApplicationPublic, AnomalyPublic
    ledger     ReceiptPublic, BatchPublic, EventPublic, PriceRowPublic, the audit's and health's answers

The pages people see (web/) answer HTML and are not part of the document.
"""

from __future__ import annotations

from .journeys import *  # noqa: F403
from .journeys import __all__ as _journeys
from .ledger import *  # noqa: F403
from .ledger import __all__ as _ledger
from .lots import *  # noqa: F403
from .lots import __all__ as _lots
from .parties import *  # noqa: F403
from .parties import __all__ as _parties
from .problems import *  # noqa: F403
from .problems import __all__ as _problems

__all__ = [*_problems, *_lots, *_journeys, *_parties, *_ledger]
