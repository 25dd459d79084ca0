"""Time, size and peak memory of the delivery PDF for a letter with many public signatures.

    DATABASE_URL=postgres://... python bench/delivery_pdf.py 100000

Loads the signatures (once) into a letter named bench-delivery-<count>, then builds its PDF
the way the worker does and prints one JSON line. Run it against a scratch database.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from delivery.models import DeliveryDocument  # noqa: E402
from delivery.services import delivery_document_build  # noqa: E402
from letters.models import Letter, NamedSignatory  # noqa: E402
from petition.models import Signature  # noqa: E402

NAMES = ["Ada Lovelace", "Zoë Müller", "Ελένη Παπαδοπούλου", "Дмитрий Иванов", "Chidi Okafor"]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def load(count: int) -> Letter:
    slug = f"bench-delivery-{count}"
    letter, created = Letter.objects.get_or_create(
        slug=slug,
        defaults={
            "title": f"A letter with {count:,} public signatures",
            "recipient": "Everyone who reads benchmarks",
            "body": "We ask for **fair terms**.\n\n1. Pay.\n2. Credit.\n",
            "status": Letter.Status.OPEN,
            "published_at": timezone.now(),
        },
    )
    if created:
        NamedSignatory.objects.create(letter=letter, name="Ada Named", affiliation="Guild")
    have = Signature.objects.filter(letter=letter).count()
    now = timezone.now()
    for start in range(have, count, 10_000):
        Signature.objects.bulk_create(
            Signature(
                letter=letter,
                name=f"{NAMES[i % len(NAMES)]} {i}",
                email=f"s{i}@example.org",
                email_normalized=f"s{i}@example.org",
                organization="Studio North" if i % 2 else "",
                city="Lyon" if i % 3 else "",
                country="FR" if i % 3 else "",
                status=Signature.Status.VERIFIED,
                verified_at=now,
            )
            for i in range(start, min(count, start + 10_000))
        )
    return letter


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    call_command("migrate", verbosity=0)
    letter = load(count)
    document = DeliveryDocument.objects.create(letter=letter)
    before = rss_kib()
    started = time.perf_counter()
    document = delivery_document_build(document_id=document.pk)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "signatures": count,
                "state": document.state,
                "seconds": round(seconds, 1),
                "pages": document.pages,
                "bytes": document.file_size,
                "rss_before_kib": before,
                "peak_rss_kib": peak,
            }
        )
    )


if __name__ == "__main__":
    main()
