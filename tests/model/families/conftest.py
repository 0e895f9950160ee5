"""Tiny models of every family, built once per test session (a few seconds each on 2 cores)."""

import pytest
from family_helpers import TinyFamilies


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyFamilies:
    return TinyFamilies(tmp_path_factory.mktemp("families"))
