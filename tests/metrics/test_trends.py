"""GET /api/v1/metrics/trends: the summary's measures per week or month of each measure's anchor."""

from tests.support.constants import ADMIN
from tests.support.metrics import NOW, history, store


async def trends(client, **params):
    response = await client.get("/api/v1/metrics/trends", headers=ADMIN, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_monthly_buckets_split_each_measure_by_its_anchor(client, runtime, clock):
    clock.set(NOW)
    await store(runtime, history())
    body = await trends(client, bucket="month")
    october, november = body["items"]
    assert (october["start"], november["start"]) == ("2026-10-01", "2026-11-01")
    # Triggered in October and resolved: K1 600, K2 1200, C 1800, A 3600, G 5400, B 7200 (sum 19800).
    assert october["mttr"] == {"mean": 3300.0, "median": 1800.0, "p90": 7200.0, "count": 6}
    assert november["mttr"] == {"mean": 48600.0, "median": 10800.0, "p90": 86400.0, "count": 2}  # E, F
    # Created in October: I1 I2 I3 I6 I7 I8 I9 I10 (completed I1 I2 I8); November: I4 (completed), I5.
    assert october["action_item_completion_rate"]["numerator"] == 3
    assert october["action_item_completion_rate"]["denominator"] == 8
    assert november["action_item_completion_rate"]["by_priority"]["P1"]["value"] == 1.0
    # The months together are the all-time summary.
    summary = (await client.get("/api/v1/metrics/summary", headers=ADMIN)).json()
    for name in ("voluntary_reporting_rate", "repeat_incident_rate", "recurred_while_overdue",
                 "packet_sla_breach_rate", "on_time_rate"):
        assert october[name]["denominator"] + november[name]["denominator"] == summary[name]["denominator"], name
        assert october[name]["numerator"] + november[name]["numerator"] == summary[name]["numerator"], name
    assert "overdue" not in october  # about now, not about a bucket


async def test_weeks_start_on_monday_and_empty_weeks_are_there(client, runtime, clock):
    clock.set(NOW)
    await store(runtime, history())
    body = await trends(client)  # week is the default
    starts = [item["start"] for item in body["items"]]
    # From A (Thursday 10-01, week of 09-28) to F (resolved Sunday 11-22, week of 11-16), every Monday.
    assert starts == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26", "2026-11-02",
                      "2026-11-09", "2026-11-16"]
    quiet = body["items"][2]  # 10-12..10-18: nothing triggered, resolved, published or created
    assert quiet["mttr"] == {"mean": None, "median": None, "p90": None, "count": 0}
    assert quiet["repeat_incident_rate"] == {"value": None, "numerator": 0, "denominator": 0}
    # Saturday 10-10 (C) belongs to the week of Monday 10-05, with B.
    assert body["items"][1]["repeat_incident_rate"] == {"value": 1.0, "numerator": 2, "denominator": 2}


async def test_window_and_refusals(client, runtime, clock):
    clock.set(NOW)
    await store(runtime, history())
    body = await trends(client, bucket="month", since="2026-11-01T00:00:00Z")
    assert [item["start"] for item in body["items"]] == ["2026-11-01"]
    assert (await trends(client, since="2027-01-01T00:00:00Z"))["items"] == []
    response = await client.get("/api/v1/metrics/trends", headers=ADMIN, params={"bucket": "day"})
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
