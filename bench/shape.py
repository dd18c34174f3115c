"""The shape of the bench's data, shared by the clinic's builder (``bench.data``) and the
peer's (``bench.peer``) so both hold the same staff, days and bookings. Plain Python: no
Django, no app.

A clinic of ``rooms`` rooms, one device per room and two estheticians per room (the first
``slots // 2`` sessions of the day with the morning one, the rest with the afternoon one);
``slots`` sessions of 45 minutes back to back from 08:00 in every room, every day. Each
(room, time) pair is a *lane* with its own clients (client ``i`` in lane ``i mod lanes``),
so no client is ever in two places at once or seen twice in a day. In a lane, days follow
one another in three *streams* (day mod 3); each stream alternates blocks of 15 visits: a
series (one client's plan: a session every third day, as many as the plan allows, the
block's rest single sessions) and single sessions of the lane's other clients in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import time

SESSIONS_PER_CLIENT = 3
SESSION_MINUTES = 45
BLOCK = 15  # visits per block of a stream
STREAMS = 3
DAY_STARTS = time(8)
SHIFT = (time(8), time(20))


@dataclass(frozen=True)
class Shape:
    clients: int
    rooms: int = 10
    slots: int = 14  # sessions a day per room
    days_ahead_max: int = 42

    @property
    def estheticians(self) -> int:
        return 2 * self.rooms

    @property
    def lanes(self) -> int:
        return self.rooms * self.slots

    @property
    def days(self) -> int:
        """``clients x 3 / lanes``: 2,143 days (5.9 years) for 100k clients, 21 for 1k."""
        return max(3, round(self.clients * SESSIONS_PER_CLIENT / self.lanes))

    @property
    def days_ahead(self) -> int:
        return min(self.days_ahead_max, self.days // 3)

    @property
    def days_back(self) -> int:
        return self.days - self.days_ahead - 1

    def lane(self, j: int) -> tuple[int, int, int]:
        """(room index, slot of the day, esthetician index) of lane ``j``."""
        room, slot = divmod(j, self.slots)
        esthetician = room if slot < self.slots // 2 else room + self.rooms
        return room, slot, esthetician


@dataclass(frozen=True)
class Visit:
    day: int  # 0 = the first day of the data
    lane: int
    client: int  # 0-based client index
    series: tuple[int, int, int] | None  # the plan's key (lane, stream, block), if any
    position: int  # the visit's place in its block


def visits(shape: Shape, series_length: Callable[[int, int], int]) -> Iterator[Visit]:
    """Every visit, day by day, lane by lane. ``series_length(client, day)`` is how many
    sessions a plan starting that day allows that client (at most ``BLOCK``)."""
    lanes = shape.lanes
    series_pools, single_pools = [], []
    for j in range(lanes):
        pool = list(range(j, shape.clients, lanes))
        # At least three series clients, so the three streams' plans never share one.
        k = max(3, len(pool) // 3) if len(pool) >= 4 else 0
        series_pools.append(pool[:k])
        single_pools.append(pool[k:])
    single_turn = [0] * lanes
    lengths: dict[tuple[int, int, int], int] = {}
    for t in range(shape.days):
        stream, visit = t % STREAMS, t // STREAMS
        block, position = divmod(visit, BLOCK)
        for j in range(lanes):
            series = series_pools[j]
            if block % 2 == 0 and series:
                client = series[(stream + STREAMS * (block // 2)) % len(series)]
                key = (j, stream, block)
                if key not in lengths:
                    lengths[key] = min(BLOCK, series_length(client, t))
                if position < lengths[key]:
                    yield Visit(t, j, client, key, position)
                    continue
            singles = single_pools[j]
            if not singles:
                continue
            client = singles[single_turn[j] % len(singles)]
            single_turn[j] += 1
            yield Visit(t, j, client, None, position)
