from tests.petition.conftest import letter, sign  # noqa: F401  (the signing fixtures)
