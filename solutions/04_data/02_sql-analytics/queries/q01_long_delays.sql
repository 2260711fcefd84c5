-- Task 1 (long-delays): flights that left at least two hours late, with the airline's name
-- and the destination airport's name. Ordered by dep_delay, largest first.
SELECT
    CAST(f.time_hour AS DATE) AS flight_date,
    f.carrier,
    al.name AS airline,
    f.flight,
    f.origin,
    f.dest,
    ap.name AS dest_name,
    f.dep_delay
FROM flights AS f
JOIN airlines AS al ON al.carrier = f.carrier
LEFT JOIN airports AS ap ON ap.faa = f.dest
WHERE f.dep_delay >= 120
ORDER BY f.dep_delay DESC;
