"""The funnel, acceptance and reasons computed in plain SQL, to check the reports against."""

FUNNEL_SQL = """
WITH reached AS (
  SELECT h.lead_id,
         MAX(CASE h.to_stage WHEN 'mql' THEN 1 WHEN 'sales_accepted' THEN 2 WHEN 'sql' THEN 3
                             WHEN 'opportunity' THEN 4 WHEN 'won' THEN 5 ELSE 0 END) AS top
  FROM stage_history h GROUP BY h.lead_id)
SELECT {channel} AS channel, COUNT(*) AS leads,
       SUM(CASE WHEN r.top >= 1 THEN 1 ELSE 0 END), SUM(CASE WHEN r.top >= 2 THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.top >= 3 THEN 1 ELSE 0 END), SUM(CASE WHEN r.top >= 4 THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.top >= 5 THEN 1 ELSE 0 END)
FROM leads l LEFT JOIN reached r ON r.lead_id = l.id
WHERE l.merged_into IS NULL
GROUP BY {channel}
"""
ACCEPTANCE_SQL = """
WITH reviews AS (
  SELECT e.lead_id, e.type,
         ROW_NUMBER() OVER (PARTITION BY e.lead_id ORDER BY e.occurred_at, e.seq) AS n
  FROM events e JOIN leads l ON l.id = e.lead_id
  WHERE l.merged_into IS NULL AND e.type IN ('sales_accepted', 'sales_rejected'))
SELECT SUM(CASE WHEN type = 'sales_accepted' THEN 1 ELSE 0 END),
       SUM(CASE WHEN type = 'sales_rejected' THEN 1 ELSE 0 END)
FROM reviews WHERE n = 1
"""
REASONS_SQL = """
SELECT {reason} AS reason, COUNT(*) FROM events e JOIN leads l ON l.id = e.lead_id
WHERE l.merged_into IS NULL AND e.type = 'sales_rejected' GROUP BY {reason}
"""
