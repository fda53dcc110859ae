"""Repeat relinking survives a lost job: the request is a row, the sweeper resubmits it, the job clears it."""

from app.runtime import sweep_all
from tests.support.db import count_rows
from tests.support.incidents import day, deliver, get, history


async def test_a_lost_relink_job_is_resubmitted_by_the_sweeper(client, runtime, clock):
    submit = runtime.queue.submit
    runtime.queue.submit = lambda job: None if job.name == "link_repeats" else submit(job)  # lost in a crash
    await deliver(client, runtime, *history("PRL1", day(0)), *history("PRL2", day(3)))
    first, second = await get(client, "PRL1"), await get(client, "PRL2")
    assert second["repeat_of_id"] is None
    assert await count_rows(runtime, "repeat_relinks") == 2

    runtime.queue.submit = submit  # the next process: jobs run again
    await sweep_all(runtime.ctx)  # within the grace period the requests' own jobs may still be coming
    await runtime.queue.drain()
    assert (await get(client, "PRL2"))["repeat_of_id"] is None

    clock.advance(minutes=5)
    await sweep_all(runtime.ctx)
    await runtime.queue.drain()
    assert (await get(client, "PRL2"))["repeat_of_id"] == first["id"]
    assert await count_rows(runtime, "repeat_relinks") == 0


async def test_the_relink_job_run_twice_changes_nothing_the_second_time(client, runtime):
    from app.incidents.jobs import link_repeats

    await deliver(client, runtime, *history("PRT1", day(0)), *history("PRT2", day(2)))
    first, second = await get(client, "PRT1"), await get(client, "PRT2")
    assert second["repeat_of_id"] == first["id"]
    assert await count_rows(runtime, "repeat_relinks") == 0

    around = day(2).isoformat()
    for _ in range(2):
        await link_repeats(runtime.ctx, second["fingerprint"], around)
        assert (await get(client, "PRT2"))["repeat_of_id"] == first["id"]
        assert (await get(client, "PRT1"))["repeat_of_id"] is None
    assert await count_rows(runtime, "repeat_relinks") == 0


async def test_a_relink_requested_again_while_its_job_runs_is_kept_for_the_next_job(client, runtime, clock):
    """The job clears only the request it saw; one made meanwhile (a new token) stays for its own job."""
    from app.incidents import service
    from app.incidents.jobs import link_repeats

    await deliver(client, runtime, *history("PRA1", day(0)))
    fingerprint = (await get(client, "PRA1"))["fingerprint"]
    around = day(0)

    real_link = service.link_repeats

    async def request_again_then_link(session, **kwargs):
        # Another event for the fingerprint commits after the job read the request, before it relinks.
        async with runtime.sessionmaker() as other:
            await service.request_relinks(other, [(fingerprint, around)])
            await other.commit()
        await real_link(session, **kwargs)

    # The wake-up that request sends is held back: what is left must be this job's doing alone.
    submit = runtime.queue.submit
    runtime.queue.submit = lambda job: None if job.name == "link_repeats" else submit(job)
    service.link_repeats = request_again_then_link
    try:
        await link_repeats(runtime.ctx, fingerprint, around.isoformat())
    finally:
        service.link_repeats = real_link
        runtime.queue.submit = submit
    assert await count_rows(runtime, "repeat_relinks") == 1
    clock.advance(minutes=5)
    await sweep_all(runtime.ctx)
    await runtime.queue.drain()
    assert await count_rows(runtime, "repeat_relinks") == 0


async def test_a_batch_of_relinks_rewrites_only_the_windows_it_was_asked_for(client, runtime):
    """Requests for one fingerprint far apart are done in one pass, but an incident between their
    windows [around, around + lookback] is not theirs to rewrite (nor to announce as a repeat)."""
    from datetime import timedelta

    import sqlalchemy as sa

    from app.incidents.service import link_repeats_of

    await deliver(client, runtime, *history("PWIN1", day(0)), *history("PWIN2", day(10)),
                  *history("PWIN3", day(150)), *history("PWIN4", day(300)), *history("PWIN5", day(310)))
    ids = {name: (await get(client, name))["id"] for name in ("PWIN1", "PWIN2", "PWIN3", "PWIN4", "PWIN5")}
    fingerprint = (await get(client, "PWIN1"))["fingerprint"]
    async with runtime.engine.begin() as connection:  # links gone stale, as after a lookback change
        await connection.execute(sa.text("UPDATE incidents SET repeat_of_id = NULL"))
        await connection.execute(sa.text("UPDATE incidents SET repeat_of_id = :two WHERE external_id = 'PWIN3'"),
                                 {"two": ids["PWIN2"].replace("-", "") if runtime.engine.dialect.name == "sqlite"
                                  else ids["PWIN2"]})

    async with runtime.sessionmaker() as session:
        await link_repeats_of(session, [(fingerprint, day(305)), (fingerprint, day(5))], lookback=timedelta(days=90))
        await session.commit()
    links = {name: (await get(client, name))["repeat_of_id"] for name in ids}
    assert links == {"PWIN1": None, "PWIN2": ids["PWIN1"], "PWIN3": ids["PWIN2"], "PWIN4": None,
                     "PWIN5": ids["PWIN4"]}
