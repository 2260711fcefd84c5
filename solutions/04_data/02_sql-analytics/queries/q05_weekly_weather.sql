-- Task 5 (weekly-weather): weather per origin and week (weeks start on Monday).
SELECT
    origin,
    CAST(date_trunc('week', time_hour) AS DATE) AS week_start,
    count(*) AS n_readings,
    avg(temp) AS avg_temp,
    sum(precip) AS total_precip
FROM weather
GROUP BY origin, week_start
ORDER BY origin, week_start;
