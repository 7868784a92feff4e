import json
from datetime import date, datetime, timezone

from monitor.dashboards import charts
from monitor.dashboards.exports import Column, Table, csv_cell, table_csv

DAYS = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]


def test_it_builds_a_stacked_chart_with_its_data_table():
    chart = charts.stacked_daily("volume", "Messages", DAYS, {"DMARC pass": [5, 0, 7], "DMARC fail": [1, 0, 2]})
    figure = chart.as_dict()
    assert figure["layout"]["barmode"] == "stack"
    assert [trace["name"] for trace in figure["data"]] == ["DMARC pass", "DMARC fail"]
    assert figure["data"][0]["marker"]["color"] == charts.COLORS["pass"]
    assert figure["data"][1]["marker"]["color"] == charts.COLORS["fail"]
    assert chart.table.rows[2] == {"day": date(2026, 1, 3), "dmarc_pass": 7, "dmarc_fail": 2}


def test_it_leaves_gaps_where_a_day_had_no_mail():
    chart = charts.rate_lines("rates", "Rates", DAYS, {"DMARC pass": [99.0, None, 50.0]})
    assert chart.as_dict()["data"][0]["y"] == [99.0, None, 50.0]
    assert chart.table.rows[1]["dmarc_pass"] is None


def test_it_keeps_the_json_inert_inside_a_script_element():
    chart = charts.category_bars("mx", "By MX", ["</script><script>alert(1)</script>"], {"failed": [3]})
    text = chart.json()
    assert "</script>" not in text and "<" not in text
    assert json.loads(text)["data"][0]["y"] == ["</script><script>alert(1)</script>"]


def test_it_draws_listing_intervals_to_the_end_of_the_period_while_open():
    first = datetime(2026, 1, 2, 6, tzinfo=timezone.utc)
    chart = charts.timeline("t", "Listings", [{"lane": "192.0.2.1 · zen", "first": first, "last": None, "label": "SBL"}],
                            date(2026, 1, 1), date(2026, 1, 3))
    trace = chart.as_dict()["data"][0]
    assert trace["base"] == ["2026-01-02T06:00:00"]
    assert trace["x"] == [(24 + 18) * 3600 * 1000]  # to the end of 3 January


def test_it_draws_sparklines_with_breaks():
    svg = charts.sparkline([1, 2, None, 4, 5], label="pass rate")
    assert svg.count("<polyline") == 2 and "<title>pass rate</title>" in svg
    assert "–" in charts.sparkline([None, 3])


def test_it_writes_csv_that_spreadsheets_do_not_execute():
    assert csv_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert csv_cell("-1+2") == "'-1+2" and csv_cell(-3) == "-3" and csv_cell(87.5) == "87.50"
    assert csv_cell(["a", "b"]) == "a; b" and csv_cell(None) == "" and csv_cell(date(2026, 1, 1)) == "2026-01-01"
    table = Table("t", "T", [Column("a", "A"), Column("b", "B", "int")], [{"a": "x,y", "b": 1000}])
    assert table_csv(table) == 'A,B\r\n"x,y",1000\r\n'
