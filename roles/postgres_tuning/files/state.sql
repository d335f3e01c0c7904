-- The live state tasks/run.yml decides on (one round trip). %(window)s is "" or
-- "<mon..sun|daily> HH:MM-HH:MM" (checked by preflight), in the server's local time;
-- a window whose end is before its start runs past midnight into the next day.
WITH w AS (
  SELECT split_part(%(window)s, ' ', 1) AS day,
         split_part(split_part(%(window)s, ' ', 2), '-', 1) AS t_start,
         split_part(split_part(%(window)s, ' ', 2), '-', 2) AS t_end,
         localtimestamp AS now
), b AS (
  SELECT day, now,
         CASE WHEN t_start = '' THEN NULL ELSE t_start::time END AS t_start,
         CASE WHEN t_end = '' THEN NULL ELSE t_end::time END AS t_end,
         to_char(now, 'dy') AS today,
         to_char(now - interval '1 day', 'dy') AS yesterday,
         now::time AS t_now
  FROM w
)
SELECT
  (SELECT coalesce(array_agg(name::text ORDER BY name), '{}') FROM pg_settings WHERE pending_restart) AS pending,
  (SELECT coalesce(array_agg(format('line %%s: %%s', line_number, error)), '{}')
     FROM pg_hba_file_rules WHERE error IS NOT NULL) AS hba_errors,
  to_char(now, 'Dy YYYY-MM-DD HH24:MI') AS now,
  CASE
    WHEN %(window)s = '' THEN true
    WHEN t_start < t_end THEN
      day IN ('daily', today) AND t_now >= t_start AND t_now < t_end
    ELSE
      (day IN ('daily', today) AND t_now >= t_start) OR (day IN ('daily', yesterday) AND t_now < t_end)
  END AS in_window
FROM b
