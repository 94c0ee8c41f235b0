"""Reading one person's records out of a city's local database, in canonical form."""

from __future__ import annotations

from sqlmodel import Session

from mock_cities.dialects import Dialect, LocalDocument
from mock_cities.profiles import CityProfile
from schemas.records import PersonRecords


class PersonNotFound(Exception):
    """This city holds no record on that person."""


def local_document(*, session: Session, dialect: Dialect, id_number: str) -> LocalDocument:
    """The person's records exactly as the city's own system presents them."""
    document = dialect.read_document(session, id_number=id_number)
    if document is None:
        raise PersonNotFound("no records for this ID number in this city")
    return document


def person_records(*, session: Session, dialect: Dialect, profile: CityProfile, id_number: str) -> PersonRecords:
    """The person's records mapped from the local dialect to the exchange standard."""
    document = local_document(session=session, dialect=dialect, id_number=id_number)
    return dialect.to_canonical(document, city=profile.ref)
