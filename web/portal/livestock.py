"""What the portal's forms need for live animals (issue 20 §5; static/portal-livestock.js uses it).

    holding_animals(service, holdings) -> {lot: LotAnimals}   the ear tags and recorded live weight
                                          of each live-animal lot held (each option's data-animals,
                                          data-live-weight): a split names them, a slaughter reads
                                          the species from them and starts from the weight
    meat_categories(t)                 -> [(category, words)]  a slaughter's outputs, 肉类 first
    SLAUGHTER_CONFIG                   the page's bands: yield in percent of live weight by an ear
                                          tag's species digit, and live weight in percent of the
                                          recorded one, as the rules hold them (rules/livestock.py)

The bands are shown before signing; the rules decide, on the same numbers, when the event arrives.
"""

from __future__ import annotations

from collections.abc import Iterable

from farmtrace.trace.model.ids import EAR_TAG_SPECIES
from farmtrace.trace.model.units import format_decimal
from farmtrace.trace.reads import portal as portal_reads
from farmtrace.trace.reads.portal import Holding, LotAnimals
from farmtrace.trace.rules.livestock import MEAT_CATEGORIES, SLAUGHTER_WEIGHT, SLAUGHTER_YIELD
from farmtrace.trace.service import TraceService

from ..i18n import Translator

__all__ = ["SLAUGHTER_CONFIG", "holding_animals", "meat_categories"]

# Each meat category in the reader's words where the catalogue has them (a new one shows as it is).
_MEAT_WORDS = {"肉类": "portal.category.meat", "冷冻肉": "portal.category.frozen_meat"}

SLAUGHTER_CONFIG = {
    "yieldBands": {
        digit: [format_decimal(bound * 100) for bound in SLAUGHTER_YIELD[species]]
        for digit, species in EAR_TAG_SPECIES.items()
    },
    "weightBand": [format_decimal(bound * 100) for bound in SLAUGHTER_WEIGHT],
}


def holding_animals(service: TraceService, holdings: Iterable[Holding]) -> dict[str, LotAnimals]:
    """The live animals of each lot in head among `holdings` (trace/reads/portal.py `animals`)."""
    return portal_reads.animals(service.engine, (h.lot for h in holdings if h.unit == "head"))


def meat_categories(t: Translator) -> list[tuple[str, str]]:
    """The categories a slaughter's outputs may have (rules/livestock.py MEAT_CATEGORIES), 肉类 first."""
    ordered = sorted(MEAT_CATEGORIES, key=lambda c: (c != "肉类", c))
    return [(c, t(_MEAT_WORDS[c]) if c in _MEAT_WORDS else c) for c in ordered]
