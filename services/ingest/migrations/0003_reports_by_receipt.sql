-- `orderflow replay reports` pages a tenant's reports in receipt order, 1000 at a time: with
-- no index on that order every page scanned and sorted the whole table (a replay of n
-- reports read n²/1000 rows). reports_by_order served no query and cost every insert a
-- B-tree descent at a random place; the receipt-order index is written near its end.
DROP INDEX reports_by_order;
CREATE INDEX reports_by_receipt ON reports (tenant, received_at, report_id);
