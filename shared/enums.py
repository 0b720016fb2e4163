"""The closed vocabularies of a melding (docs/design.md, "Domain words").

Values are the Dutch domain words themselves, so they read the same in the database, the API and
the UI; ``label`` gives the text shown to a user.
"""

from __future__ import annotations

from enum import StrEnum


class MeldingType(StrEnum):
    """What kind of contact this is."""

    VRAAG = "vraag"  # a question
    MELDING = "melding"  # a report of a problem in the public space
    KLACHT = "klacht"  # a complaint about how the municipality acted

    @property
    def label(self) -> str:
        """The Dutch text shown to a user."""
        return {"vraag": "Vraag", "melding": "Melding", "klacht": "Klacht"}[self.value]


class Kanaal(StrEnum):
    """The channel the contact came in through."""

    TELEFOON = "telefoon"
    BALIE = "balie"
    BRIEF = "brief"
    EMAIL = "email"
    WEBSITE = "website"
    MONDELING = "mondeling"  # in person to a team member, e.g. stopped in the street
    KCC = "kcc"  # passed on by the contact centre

    @property
    def label(self) -> str:
        """The Dutch text shown to a user."""
        return {
            "telefoon": "Telefoon",
            "balie": "Balie",
            "brief": "Brief",
            "email": "E-mail",
            "website": "Website",
            "mondeling": "Mondeling",
            "kcc": "KCC",
        }[self.value]


class VierB(StrEnum):
    """The four B's: the quality value the contact touches most."""

    BETROUWBAARHEID = "betrouwbaarheid"  # we do what we say
    BETROKKENHEID = "betrokkenheid"  # we think along with residents
    BEREIKBAARHEID = "bereikbaarheid"  # residents can reach the right person
    BREDE_BLIK = "brede_blik"  # one municipality, not departments

    @property
    def label(self) -> str:
        """The Dutch text shown to a user."""
        return {
            "betrouwbaarheid": "Betrouwbaarheid",
            "betrokkenheid": "Betrokkenheid",
            "bereikbaarheid": "Bereikbaarheid",
            "brede_blik": "Brede blik",
        }[self.value]


class Prioriteit(StrEnum):
    """Urgency as judged at intake; ``spoed`` means someone goes out the same day."""

    LAAG = "laag"
    NORMAAL = "normaal"
    HOOG = "hoog"
    SPOED = "spoed"

    @property
    def label(self) -> str:
        """The Dutch text shown to a user."""
        return self.value.capitalize()


class Status(StrEnum):
    """The life cycle of a melding; the allowed moves are in ``shared.status``."""

    GEMELD = "gemeld"
    IN_BEHANDELING = "in_behandeling"
    INGEPLAND = "ingepland"
    AFGEHANDELD = "afgehandeld"
    DOORGEZET = "doorgezet"  # handed to another department or party
    GEANNULEERD = "geannuleerd"  # duplicate or withdrawn
    HEROPEND = "heropend"

    @property
    def label(self) -> str:
        """The Dutch text shown to a user."""
        return {
            "gemeld": "Gemeld",
            "in_behandeling": "In behandeling",
            "ingepland": "Ingepland",
            "afgehandeld": "Afgehandeld",
            "doorgezet": "Doorgezet",
            "geannuleerd": "Geannuleerd",
            "heropend": "Heropend",
        }[self.value]


class EventType(StrEnum):
    """Kinds of event in a melding's log (docs/design.md, "Records are event logs")."""

    CREATED = "created"
    FIELDS_CHANGED = "fields_changed"
    STATUS_CHANGED = "status_changed"
    NOTE_ADDED = "note_added"
    CALLBACK_LOGGED = "callback_logged"
    DELETED = "deleted"
    RESTORED = "restored"
    REPORTER_ANONYMISED = "reporter_anonymised"
    MELDER_ADDED = "melder_added"  # a second (third, …) resident reported the same problem
    ASSIGNED = "assigned"  # the behandelaar (or the team) changed
    PURGED = "purged"  # removed after its retention period: only an anonymous statistical record stays


class Role(StrEnum):
    """Roles a server token can carry; guards on the server check these."""

    WIJKUITVOERDER = "wijkuitvoerder"
    KCC = "kcc"
    MANAGER = "manager"
    ADMIN = "admin"
