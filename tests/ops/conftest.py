import pytest

from tests.ops.scrape import TOKEN


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN
