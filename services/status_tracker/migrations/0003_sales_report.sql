-- CONTRACTS §9: what the sales reports need in SQL (docs/reports.md).

-- ISO 4217 minor units, as shared/currencies.py has them (a test checks they agree).
CREATE FUNCTION minor_units(currency text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN 0
        WHEN currency IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 3
        WHEN currency IN ('CLF', 'UYW') THEN 4
        ELSE 2
    END
$$;

-- The part of an order's refunds that falls on one line: refunded x line_total / amount,
-- rounded once, half-even, to the currency's minor units. Computed with an exact integer
-- quotient and remainder, so a tie is never misjudged by a rounded division.
CREATE FUNCTION refund_share(refunded numeric, line_total numeric, amount numeric, currency text)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN amount IS NULL OR amount = 0 OR refunded IS NULL THEN 0
        ELSE (q + CASE WHEN 2 * r > amount OR (2 * r = amount AND mod(q, 2) = 1) THEN 1 ELSE 0 END)
             / power(10::numeric, places)
    END
    FROM (
        SELECT places, div(n, amount) AS q, n - div(n, amount) * amount AS r
        FROM (
            SELECT minor_units(currency) AS places,
                   refunded * line_total * power(10::numeric, minor_units(currency)) AS n
        ) AS scaled
    ) AS divided
$$;
