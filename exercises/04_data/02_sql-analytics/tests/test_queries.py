"""Public tests: each query on the visible database, compared with the reference result."""

import pytest

CASES = [
    pytest.param("q01_long_delays.sql", marks=pytest.mark.task("long-delays"), id="q01"),
    pytest.param("q02_unknown_planes.sql", marks=pytest.mark.task("unknown-planes"), id="q02"),
    pytest.param("q03_busy_routes.sql", marks=pytest.mark.task("busy-routes"), id="q03"),
    pytest.param("q04_clean_reports.sql", marks=pytest.mark.task("clean-reports"), id="q04"),
    pytest.param("q05_weekly_weather.sql", marks=pytest.mark.task("weekly-weather"), id="q05"),
    pytest.param("q06_latest_reports.sql", marks=pytest.mark.task("latest-reports"), id="q06"),
    pytest.param("q07_running_totals.sql", marks=pytest.mark.task("running-totals"), id="q07"),
    pytest.param("q08_carrier_rank.sql", marks=pytest.mark.task("carrier-rank"), id="q08"),
    pytest.param("q09_monthly_change.sql", marks=pytest.mark.task("monthly-change"), id="q09"),
    pytest.param("q10_top_destinations.sql", marks=pytest.mark.task("top-destinations"),
                 id="q10"),
]


@pytest.fixture(scope="module", autouse=True)
def _close_databases(support):
    yield
    support.close_connections()


# fails for: lazy-constants, common-mistakes, forbidden-statements
@pytest.mark.points(1)
@pytest.mark.parametrize("query_file", CASES)
def test_visible_database(query_file, submission, support, exercise_dir, exercise):
    query = support.BY_FILE[query_file]
    expected = support.visible_expected(query, exercise_dir, exercise.rel)
    support.check_query(submission, query, "visible", expected)
