"""PagerDuty's 960 requests a minute, kept on our side: a sliding window of 60 seconds."""

from app.integrations.pagerduty.ratelimit import RateLimit


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_960_requests_go_at_once_and_the_961st_waits_for_the_first_to_leave_the_window():
    time = FakeTime()
    limit = RateLimit(960, clock=time.clock, sleep=time.sleep)
    for _ in range(960):
        await limit.acquire()
        time.now += 0.01  # 9.6 s for the burst
    assert time.slept == []
    await limit.acquire()
    assert [round(s, 6) for s in time.slept] == [50.4]
    assert round(time.now, 6) == 60.0


async def test_a_steady_caller_is_held_to_the_limit_over_any_minute():
    time = FakeTime()
    limit = RateLimit(10, clock=time.clock, sleep=time.sleep)
    started = []
    for _ in range(35):
        await limit.acquire()
        started.append(time.now)
    for first in started:
        assert sum(1 for at in started if first <= at < first + 60) <= 10
    assert started[-1] >= 180  # 35 requests at 10 a minute: the last in the fourth minute
