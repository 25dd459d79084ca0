from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.utils import timezone

from accounts.models import User
from core.normalize import email_domain, ip_key, name_key
from letters.models import Invitation, Letter, LetterRole, NamedSignatory
from petition.models import Signature

M = TypeVar("M")


class ModelFactory(factory.django.DjangoModelFactory[M]):
    """A model factory whose call is typed as the model it creates."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # factory_boy creates the model instance in its metaclass; its untyped __new__
        # would otherwise read as returning the factory.
        def __new__(cls, *args: Any, **kwargs: Any) -> M: ...  # type: ignore[misc]


class UserFactory(ModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"author{n}@example.org")
    password = factory.django.Password("correct horse battery staple")


class LetterFactory(ModelFactory[Letter]):
    class Meta:
        model = Letter

    slug = factory.Sequence(lambda n: f"letter-{n}")
    title = factory.Sequence(lambda n: f"Open letter number {n}")
    recipient = "The board of Example AI"
    body = "We ask you to **pay** the artists.\n\nSigned, the undersigned."
    status = Letter.Status.OPEN
    published_at = factory.LazyFunction(timezone.now)
    signer_fields = factory.LazyFunction(lambda: ["title", "organization", "city", "country"])


class LetterRoleFactory(ModelFactory[LetterRole]):
    class Meta:
        model = LetterRole

    letter = factory.SubFactory(LetterFactory)
    user = factory.SubFactory(UserFactory)
    role = LetterRole.Role.OWNER


class NamedSignatoryFactory(ModelFactory[NamedSignatory]):
    class Meta:
        model = NamedSignatory

    letter = factory.SubFactory(LetterFactory)
    name = factory.Sequence(lambda n: f"Named Person {n}")
    affiliation = "Union of illustrators"
    position = factory.Sequence(lambda n: n + 1)


class SignatureFactory(ModelFactory[Signature]):
    class Meta:
        model = Signature

    letter = factory.SubFactory(LetterFactory)
    name = factory.Sequence(lambda n: f"Signer {n}")
    email = factory.Sequence(lambda n: f"signer{n}@example.net")
    email_normalized = factory.LazyAttribute(lambda s: s.email.lower())
    email_domain = factory.LazyAttribute(lambda s: email_domain(s.email_normalized))
    name_key = factory.LazyAttribute(lambda s: name_key(s.name))
    ip_key = factory.LazyAttribute(lambda s: ip_key(s.ip_address))
    ip_address = None
    status = Signature.Status.PENDING

    class Params:
        verified = factory.Trait(
            status=Signature.Status.VERIFIED, verified_at=factory.LazyFunction(timezone.now)
        )


class InvitationFactory(ModelFactory[Invitation]):
    class Meta:
        model = Invitation

    letter = factory.SubFactory(LetterFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.org")
    email_normalized = factory.LazyAttribute(lambda i: i.email.lower())
    role = LetterRole.Role.MODERATOR
    invited_by = None
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
