from django.db import migrations


def confirm_superuser_addresses(apps, schema_editor):
    """Superusers made before `createsuperuser` confirmed their address could not log in
    until mail worked; their address counts as confirmed, as for new ones."""
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    for user in User.objects.filter(is_superuser=True):
        address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
        if address is None:
            has_primary = EmailAddress.objects.filter(user=user, primary=True).exists()
            EmailAddress.objects.create(
                user=user, email=user.email, verified=True, primary=not has_primary
            )
        elif not address.verified:
            address.verified = True
            address.save(update_fields=["verified"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(confirm_superuser_addresses, migrations.RunPython.noop)]
