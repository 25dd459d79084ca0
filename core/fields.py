"""Facts read from model fields, so a message or a truncation agrees with the column."""

from django.db import models


def max_length(model: type[models.Model], field: str) -> int:
    """The max_length of one of the model's text fields."""
    found = model._meta.get_field(field)
    if not isinstance(found, models.CharField) or found.max_length is None:
        raise TypeError(f"{model.__name__}.{field} is not a text field with a max_length")
    return found.max_length
