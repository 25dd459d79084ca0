"""One list of what the public sees of a signature (petition.models.PUBLIC_SIGNATURE_FIELDS)."""

from petition.api import PublicSignature
from petition.models import PUBLIC_SIGNATURE_FIELDS

# The API's names for two of the columns; log_index comes from the trust log, comment and
# name_withheld from the signer's choices (petition.models.public_comment_q and
# anonymous_verified_q).
API_NAMES = {"verified_at": "signed_at", "affiliation_verification": "affiliation_verified"}


def test_the_api_shows_exactly_the_public_fields() -> None:
    shown = set(PublicSignature.model_fields) - {"log_index", "comment", "name_withheld"}
    assert shown == {API_NAMES.get(field, field) for field in PUBLIC_SIGNATURE_FIELDS}
