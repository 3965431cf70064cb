import pytest

from leads.contact import display_phone, normalise_email, normalise_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(512) 555-0199", "US", ("+15125550199", True)),
        ("512.555.0199", "US", ("+15125550199", True)),
        (" +1 512 555 0199 ", "US", ("+15125550199", True)),
        ("020 7946 0958", "GB", ("+442079460958", True)),
        ("+44 20 7946 0958", "US", ("+442079460958", True)),
        ("020 7946 0958", "US", ("020 7946 0958", False)),
        ("555-1234", "US", ("555-1234", False)),
        ("call me maybe", "US", ("call me maybe", False)),
        ("", "US", ("", None)),
        ("   ", "US", ("", None)),
    ],
)
def test_phone_numbers_become_e164_in_the_markets_country(raw, region, expected):
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Dana.Whitaker@Example.COM ", ("dana.whitaker@example.com", True)),
        ("dana@example", ("dana@example", False)),
        ("dana at example.com", ("dana at example.com", False)),
        ("@example.com", ("@example.com", False)),
        ("", ("", None)),
    ],
)
def test_emails_are_lower_cased_and_checked(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+15125550142", "+1 512-555-0142"),
        ("+442079460958", "+44 20 7946 0958"),
        ("555-1234", "555-1234"),  # kept as sent: not a valid number
        ("+1 555", "+1 555"),
        ("", ""),
    ],
)
def test_stored_numbers_are_shown_in_the_international_format(stored, shown):
    assert display_phone(stored) == shown


@pytest.mark.parametrize(
    ("stored", "region", "shown"),
    [
        ("+15125550142", "US", "(512) 555-0142"),
        ("+15125550142", "us", "(512) 555-0142"),
        ("+442079460958", "GB", "020 7946 0958"),
        ("+442079460958", "US", "+44 20 7946 0958"),  # another country's: international
        ("555-1234", "US", "555-1234"),
    ],
)
def test_a_markets_own_numbers_are_shown_in_its_national_format(stored, region, shown):
    assert display_phone(stored, region) == shown
