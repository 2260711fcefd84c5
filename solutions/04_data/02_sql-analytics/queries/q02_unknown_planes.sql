-- Task 2 (unknown-planes): tail numbers that fly but have no row in planes (an anti-join).
SELECT f.tailnum, count(*) AS n_flights
FROM flights AS f
WHERE f.tailnum IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM planes AS p WHERE p.tailnum = f.tailnum)
GROUP BY f.tailnum;
