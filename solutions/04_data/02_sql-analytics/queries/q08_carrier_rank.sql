-- Task 8 (carrier-rank): rank the carriers at each origin by number of departures.
SELECT
    origin,
    carrier,
    count(*) AS n_flights,
    rank() OVER (PARTITION BY origin ORDER BY count(*) DESC) AS carrier_rank
FROM flights
GROUP BY origin, carrier;
