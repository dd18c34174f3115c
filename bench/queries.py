"""Query counts per request, for the bench's table (``bench.settings`` only).

A request with ``X-Bench-Queries: 1`` has every query it makes counted, from the first
middleware to the last, and the count comes back in the ``X-Bench-Queries`` header. Works
with DEBUG off (an execute wrapper, not ``connection.queries``). Django-only, so the peer
project (``bench/peer.py``) uses the same one.
"""

from django.db import connections


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.headers.get("X-Bench-Queries") != "1":
            return self.get_response(request)
        count = [0]

        def counted(execute, sql, params, many, context):
            count[0] += 1
            return execute(sql, params, many, context)

        wrappers = [c.execute_wrapper(counted) for c in connections.all()]
        for wrapper in wrappers:
            wrapper.__enter__()
        try:
            response = self.get_response(request)
        finally:
            for wrapper in reversed(wrappers):
                wrapper.__exit__(None, None, None)
        response["X-Bench-Queries"] = str(count[0])
        return response
