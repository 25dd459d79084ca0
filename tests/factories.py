from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import User
from letters.models import Letter, LetterRole, NamedSignatory
from petition.models import Signature
from petition.normalize import email_domain, ip_key, name_key


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"author{n}@example.org")
    password = factory.django.Password("correct horse battery staple")


class LetterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Letter

    slug = factory.Sequence(lambda n: f"letter-{n}")
    title = factory.Sequence(lambda n: f"Open letter number {n}")
    recipient = "The board of Example AI"
    body = "We ask you to **pay** the artists.\n\nSigned, the undersigned."
    status = Letter.Status.OPEN
    published_at = factory.LazyFunction(timezone.now)
    signer_fields = factory.LazyFunction(lambda: ["title", "organization", "city", "country"])


class LetterRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LetterRole

    letter = factory.SubFactory(LetterFactory)
    user = factory.SubFactory(UserFactory)
    role = LetterRole.Role.OWNER


class NamedSignatoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NamedSignatory

    letter = factory.SubFactory(LetterFactory)
    name = factory.Sequence(lambda n: f"Named Person {n}")
    affiliation = "Union of illustrators"
    position = factory.Sequence(lambda n: n + 1)


class SignatureFactory(factory.django.DjangoModelFactory):
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


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "letters.Invitation"

    letter = factory.SubFactory(LetterFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.org")
    email_normalized = factory.LazyAttribute(lambda i: i.email.lower())
    role = LetterRole.Role.MODERATOR
    invited_by = None
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
