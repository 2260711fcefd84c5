-- Task 6 (latest-reports): keep only the latest version of each report.
WITH numbered AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY report_id ORDER BY received_at DESC) AS version_rank
    FROM delay_reports
)
SELECT * EXCLUDE (version_rank)
FROM numbered
WHERE version_rank = 1;
