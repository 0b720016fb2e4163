"""Location look-up for the TUI: geopy geocoders (local gazetteer, PDOK Locatieserver, Nominatim)
and :class:`LocationLookup`, the local-first chain with a cache and graceful offline degradation.

The pure rules (bounds, RD New, gazetteer index, wijken, nearby duplicates) live in ``shared/``
(``shared.geo``, ``shared.gazetteer``, ``shared.wijken``, ``shared.nearby``); see docs/location.md.
"""

from wijkteam_tui.location.geocoders import (
    AdresKeuze,
    LocalGazetteerGeocoder,
    PDOKLocatieserver,
)
from wijkteam_tui.location.service import (
    NO_ADDRESS_MESSAGE,
    OFFLINE_MESSAGE,
    LocationLookup,
    PuntResultaat,
    Zoekresultaat,
)

__all__ = [
    "NO_ADDRESS_MESSAGE",
    "OFFLINE_MESSAGE",
    "AdresKeuze",
    "LocalGazetteerGeocoder",
    "LocationLookup",
    "PDOKLocatieserver",
    "PuntResultaat",
    "Zoekresultaat",
]
