-- Task 9 (monthly-change): flights per carrier and month, and the change since the previous
-- month in which the carrier flew.
WITH monthly AS (
    SELECT
        carrier,
        CAST(date_trunc('month', time_hour) AS DATE) AS month_start,
        count(*) AS n_flights
    FROM flights
    GROUP BY carrier, month_start
)
SELECT
    carrier,
    month_start,
    n_flights,
    lag(n_flights) OVER w AS prev_n_flights,
    n_flights - lag(n_flights) OVER w AS change
FROM monthly
WINDOW w AS (PARTITION BY carrier ORDER BY month_start)
ORDER BY carrier, month_start;
