-- Task 7 (running-totals): departures per origin and day, with a running total per origin.
WITH daily AS (
    SELECT origin, CAST(time_hour AS DATE) AS flight_date, count(*) AS n_flights
    FROM flights
    GROUP BY origin, flight_date
)
SELECT
    origin,
    flight_date,
    n_flights,
    sum(n_flights) OVER (PARTITION BY origin ORDER BY flight_date) AS running_flights
FROM daily
ORDER BY origin, flight_date;
