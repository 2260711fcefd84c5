-- Task 3 (busy-routes): routes with at least 20 flights and their average arrival delay.
SELECT
    origin,
    dest,
    count(*) AS n_flights,
    avg(arr_delay) AS avg_arr_delay
FROM flights
GROUP BY origin, dest
HAVING count(*) >= 20;
