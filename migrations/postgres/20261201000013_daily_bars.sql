-- Daily bars from a broker's market data, for backtests. Prices are public
-- data, so the bars are shared by everyone whose broker uses the same data
-- host (`source`). Prices and volumes are canonical decimal text.
--
-- Split- and dividend-adjusted prices change after every new split or
-- dividend, so a symbol's bars are one snapshot: `daily_bar_spans` records
-- which days it covers and the New York date it was fetched (`as_of`), and a
-- snapshot is used only on its own day; after that the whole span is fetched
-- again and replaced, never patched onto bars of another basis.
CREATE TABLE daily_bars (
    source TEXT NOT NULL,
    symbol TEXT NOT NULL,
    day DATE NOT NULL,
    open TEXT NOT NULL,
    high TEXT NOT NULL,
    low TEXT NOT NULL,
    close TEXT NOT NULL,
    volume TEXT NOT NULL,
    PRIMARY KEY (source, symbol, day)
);

-- The days a snapshot covers (both included): a day inside with no bar is a
-- day the broker has none for (a holiday, a halt, before the listing), not a
-- gap to fetch again.
CREATE TABLE daily_bar_spans (
    source TEXT NOT NULL,
    symbol TEXT NOT NULL,
    first_day DATE NOT NULL,
    last_day DATE NOT NULL,
    as_of DATE NOT NULL,
    PRIMARY KEY (source, symbol),
    CHECK (first_day <= last_day)
);
