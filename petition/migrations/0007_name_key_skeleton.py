"""Recompute the name keys of signatures and watched names, which now match look-alike
letters and ignore invisible characters (the UTS #39 skeleton)."""

from django.db import migrations


def recompute_name_keys(apps, schema_editor):
    from core.normalize import name_key

    Signature = apps.get_model("petition", "Signature")
    WatchedName = apps.get_model("petition", "WatchedName")
    batch = []
    for signature in (
        Signature.objects.exclude(name="").only("id", "name", "name_key").iterator(chunk_size=2000)
    ):
        key = name_key(signature.name)
        if key != signature.name_key:
            signature.name_key = key
            batch.append(signature)
        if len(batch) >= 2000:
            Signature.objects.bulk_update(batch, ["name_key"])
            batch = []
    if batch:
        Signature.objects.bulk_update(batch, ["name_key"])
    # Two watched names of one letter that now share a key watch for the same thing: the
    # first one added stays. Keys are moved aside first, so no new key collides with an
    # old one on the way.
    final: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    for watched in WatchedName.objects.order_by("pk"):
        key = name_key(watched.name)
        if not key or (watched.letter_id, key) in seen:
            watched.delete()
            continue
        seen.add((watched.letter_id, key))
        final[watched.pk] = key
    for pk in final:
        WatchedName.objects.filter(pk=pk).update(name_key=f"#{pk}")
    for pk, key in final.items():
        WatchedName.objects.filter(pk=pk).update(name_key=key)


class Migration(migrations.Migration):
    dependencies = [("petition", "0006_signature_version_affiliation_retention")]

    operations = [migrations.RunPython(recompute_name_keys, migrations.RunPython.noop)]
