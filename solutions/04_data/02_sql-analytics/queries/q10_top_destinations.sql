-- Task 10 (top-destinations): the three busiest destinations of each origin, ties kept.
WITH counts AS (
    SELECT origin, dest, count(*) AS n_flights
    FROM flights
    GROUP BY origin, dest
),
ranked AS (
    SELECT
        *,
        rank() OVER (PARTITION BY origin ORDER BY n_flights DESC) AS dest_rank,
        n_flights / sum(n_flights) OVER (PARTITION BY origin) AS share
    FROM counts
)
SELECT origin, dest, n_flights, dest_rank, share
FROM ranked
WHERE dest_rank <= 3
ORDER BY origin, dest_rank;
