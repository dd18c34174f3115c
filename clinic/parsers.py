"""Request parsers for the API."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, but a body nested deeper than Python can decode is a 400.

    ``json`` raises ``RecursionError`` (not ``ValueError``) for such a body, which DRF
    does not catch, so ``[[[[…]]]]`` 1,000 deep answered 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
