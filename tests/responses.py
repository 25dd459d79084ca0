"""The type of what Django's test client answers, for helpers that pass a response on.

django-stubs names it privately (the client adds .context, .templates, .json() to the
response); at run time any annotation will do."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse
else:
    from django.http import HttpResponse as TestResponse

__all__ = ["TestResponse"]
