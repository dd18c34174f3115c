"""Pages of the client list whose total is given, not counted (issue 14, P2).

At 100,000 clients a ``COUNT(*)`` on every view of the unfiltered list costs more than
the page itself; ``selectors.client_total`` gives the total from the planner's estimate
instead. An estimate may be a little behind, so with one the paginator never trusts it
to bound the pages: it reads one row more than a page to know whether there is a next
page, and a page past the estimate is served if it has rows.
"""

from __future__ import annotations

from django.core.paginator import EmptyPage, Page, Paginator
from django.utils.functional import cached_property

from clients.selectors import ClientTotal


class TotalPaginator(Paginator):
    def __init__(self, object_list, per_page, *, total: ClientTotal, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.total = total

    @cached_property
    def count(self) -> int:
        return self.total.count

    @property
    def exact(self) -> bool:
        return self.total.exact

    def validate_number(self, number):
        try:
            return super().validate_number(number)
        except EmptyPage:
            # Past the estimated last page: ``page`` finds out whether it has rows.
            if self.exact or int(number) < 1:
                raise
            return int(number)

    def page(self, number) -> Page:
        if self.exact:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return ReadAheadPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


class ReadAheadPage(Page):
    """A page that knows from the extra row it read whether another page follows."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1
