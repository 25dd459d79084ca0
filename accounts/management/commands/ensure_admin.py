"""Create the first admin from DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD if
no account has that address yet; otherwise do nothing. Safe to run at every start (the
compose `migrate` service does), unlike `createsuperuser --noinput`, which fails when the
account exists."""

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        if not email:
            self.stdout.write("No DJANGO_SUPERUSER_EMAIL: no admin created.")
            return
        users = get_user_model().objects
        if users.filter(email__iexact=email).exists():
            self.stdout.write(f"{email} already has an account.")
            return
        if len(password) < 12:
            raise CommandError("DJANGO_SUPERUSER_PASSWORD must be set, at least 12 characters.")
        users.create_superuser(email, password)
        self.stdout.write(self.style.SUCCESS(f"Admin {email} created; it can log in now."))
