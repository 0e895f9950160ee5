"""Tiny models of every family, built once per test session (a few seconds each on 2 cores)."""

import pytest
from family_helpers import TinyFamilies


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyFamilies:
    return TinyFamilies(tmp_path_factory.mktemp("families"))


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """A small synthetic world of counting images and flashing-circle videos (frame folders)."""
    from thinkvl.data.synthetic import generate_world

    root = tmp_path_factory.mktemp("family_world")
    generate_world(root, per_domain=4, seed=1, domains=["counting", "video"], progress=False)
    return root
