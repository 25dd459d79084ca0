"""The type of what Django's test client answers, for helpers that pass a response on.

django-stubs names it privately (the client adds .context, .templates, .json() to the
response); at run time any annotation will do."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse
else:
    from django.http import HttpResponse

    class TestResponse(HttpResponse):
        # Its name starts with "Test": without this pytest would try to collect it as a
        # test class in every module that imports it.
        __test__ = False


__all__ = ["TestResponse"]
