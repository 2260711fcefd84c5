-- Task 4 (clean-reports): one typed, normalised row per raw delay report.
WITH keyed AS (
    SELECT
        *,
        replace(replace(lower(trim(cause)), '-', '_'), ' ', '_') AS cause_key
    FROM delay_reports
)
SELECT
    report_id,
    received_at,
    upper(trim(carrier_code)) AS carrier,
    flight,
    CAST(coalesce(try_strptime(trim(report_date), '%Y-%m-%d'),
                  try_strptime(trim(report_date), '%m/%d/%Y')) AS DATE) AS report_date,
    try_cast(trim(delay_minutes) AS INTEGER) AS delay_minutes,
    CASE
        WHEN cause_key = '' THEN NULL
        WHEN cause_key = 'national_aviation_system' THEN 'nas'
        ELSE cause_key
    END AS cause
FROM keyed;
