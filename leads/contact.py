"""A customer's contact details: stored in one form, whoever sent them, and shown readably.

Phone numbers are kept in E.164 (+15125550142) so the same number always matches, whether it
came from the marketplace's API or was typed another way. Pages show them as people in the
market's country write them, (512) 555-0142 in the US, with the E.164 form in a `title`; a number
from another country keeps its international form (+44 20 7946 0958).
"""

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email


def normalise_phone(raw: str, region: str) -> tuple[str, bool | None]:
    """E.164 when the number is valid (national numbers read in `region`); else the text as sent.

    The second value says whether it is valid, None when there is no number at all.
    """
    raw = raw.strip()
    if not raw:
        return "", None
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        return raw, False
    if not phonenumbers.is_valid_number(number):
        return raw, False
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True


def normalise_email(raw: str) -> tuple[str, bool | None]:
    """The address lower-cased, and whether its syntax is valid (None when there is none)."""
    email = raw.strip().lower()
    if not email:
        return "", None
    try:
        validate_email(email)
    except ValidationError:
        return email, False
    return email, True


def display_phone(stored: str, region: str = "") -> str:
    """A stored number as people in `region` (a market's country) read it: the national format
    for a number of that country, the international one otherwise (or without a region).
    Anything that is not a valid number, as it is."""
    if not stored.startswith("+"):
        return stored
    try:
        number = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    if not phonenumbers.is_valid_number(number):
        return stored
    if region and phonenumbers.region_code_for_number(number) == region.upper():
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_search(text: str, region: str) -> tuple[str, str]:
    """What a number the pro typed matches among stored phones, however it was typed.

    Returns its E.164 form when it is a whole valid number (national numbers read in `region`),
    to match exactly, and its digits when the text looks like part of a number (at least four
    digits, nothing but digits, spaces and + - ( ) .), to match within a stored number.
    """
    e164, valid = normalise_phone(text, region)
    digits = "".join(ch for ch in text if ch.isdigit())
    looks_like_a_number = len(digits) >= 4 and all(ch.isdigit() or ch in " +-().\t" for ch in text)
    return (e164 if valid else ""), (digits if looks_like_a_number else "")
