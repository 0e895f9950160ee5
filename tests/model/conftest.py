import pytest

CORPUS = ["How many red squares are there?", "I count the red squares: 1, 2, 3.",
          "The text reads K 7 Q.", "Which direction does the square move?"] * 5


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    from thinkvl.model.factory import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny"), corpus=CORPUS, seed=0)
