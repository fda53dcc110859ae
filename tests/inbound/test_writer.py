"""The inbox writer: many deliveries at once, one transaction per batch, each answered by what the database kept."""

import asyncio

import sqlalchemy as sa

from app.core import clock
from app.core.db import EncodedJSON
from app.inbound.writer import Delivery
from tests.support.db import count_rows


def delivery(n: int, source: str = "pagerduty") -> Delivery:
    return Delivery(source=source, external_id=f"EV{n:05d}", event_type="incident.triggered",
                    occurred_at=clock.now(), delivery_id=f"wh-{n}", payload=EncodedJSON(f'{{"event": {{"n": {n}}}}}'))


async def test_a_batch_larger_than_one_statement_stores_each_delivery_once(runtime):
    runtime.queue.submit = lambda job: None  # only the inbox here
    stored_before = [delivery(n) for n in range(0, 300, 3)]  # 100 of the 300 were stored by an earlier batch
    assert all(await asyncio.gather(*(runtime.inbox.record(d) for d in stored_before)))

    # 300 distinct deliveries, each sent twice, and the same ids from Jira: one batch of 900 (several statements).
    mixed = [delivery(n) for n in range(300)] * 2 + [delivery(n, "jira") for n in range(300)]
    answers = await asyncio.gather(*(runtime.inbox.record(d) for d in mixed))

    pagerduty_first, pagerduty_again, jira = answers[:300], answers[300:600], answers[600:]
    assert pagerduty_first == [n % 3 != 0 for n in range(300)]  # new unless stored before
    assert not any(pagerduty_again)  # the second copy in the same batch is a duplicate
    assert all(jira)  # another source, another key
    assert await count_rows(runtime, "inbound_events") == 600
    async with runtime.engine.connect() as connection:
        row = (await connection.execute(sa.text(
            "SELECT delivery_id, attempts, handled_at FROM inbound_events WHERE source = 'pagerduty' "
            "AND external_id = 'EV00007'"))).one()
    assert (row.delivery_id, row.attempts, row.handled_at) == ("wh-7", 0, None)
