//! The embedded exchange's universe: popular US ETFs and stocks with each one's
//! listing, name, fractionability and simulated drift and volatility. A table,
//! not logic; `market.rs` prices them.

use sha2::{Digest, Sha256};

/// Where the listing trades, as Alpaca names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Nasdaq,
    Nyse,
    Arca,
}

impl Listing {
    pub fn as_str(self) -> &'static str {
        match self {
            Listing::Nasdaq => "NASDAQ",
            Listing::Nyse => "NYSE",
            Listing::Arca => "ARCA",
        }
    }
}

/// One simulated asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetSpec {
    pub symbol: &'static str,
    pub name: &'static str,
    pub listing: Listing,
    pub fractionable: bool,
    pub tradable: bool,
    /// Price on 2000-01-03, in cents.
    pub start_cents: i64,
    /// Expected yearly return, in basis points.
    pub drift_bp: i64,
    /// Yearly volatility, in basis points.
    pub vol_bp: i64,
    /// Typical shares traded a day.
    pub volume: u64,
}

const fn etf(
    symbol: &'static str,
    name: &'static str,
    start_cents: i64,
    drift_bp: i64,
    vol_bp: i64,
) -> AssetSpec {
    AssetSpec {
        symbol,
        name,
        listing: Listing::Arca,
        fractionable: true,
        tradable: true,
        start_cents,
        drift_bp,
        vol_bp,
        volume: 5_000_000,
    }
}

const fn stock(
    symbol: &'static str,
    name: &'static str,
    listing: Listing,
    start_cents: i64,
    drift_bp: i64,
    vol_bp: i64,
) -> AssetSpec {
    AssetSpec {
        symbol,
        name,
        listing,
        fractionable: true,
        tradable: true,
        start_cents,
        drift_bp,
        vol_bp,
        volume: 20_000_000,
    }
}

/// The universe, ETFs first. A few assets are deliberately not fractionable or
/// not tradable, as on the real exchange, so those paths can be exercised.
pub const UNIVERSE: &[AssetSpec] = &[
    etf("SPY", "SPDR S&P 500 ETF Trust", 14_500, 700, 1_800),
    etf("VOO", "Vanguard S&P 500 ETF", 13_300, 700, 1_800),
    etf("IVV", "iShares Core S&P 500 ETF", 14_600, 700, 1_800),
    etf("SPLG", "SPDR Portfolio S&P 500 ETF", 1_450, 700, 1_800),
    etf("VTI", "Vanguard Total Stock Market ETF", 7_200, 700, 1_900),
    etf(
        "ITOT",
        "iShares Core S&P Total U.S. Stock Market ETF",
        3_300,
        700,
        1_900,
    ),
    etf("SCHX", "Schwab U.S. Large-Cap ETF", 1_100, 700, 1_800),
    etf("QQQ", "Invesco QQQ Trust", 9_000, 900, 2_600),
    etf(
        "DIA",
        "SPDR Dow Jones Industrial Average ETF Trust",
        11_500,
        650,
        1_700,
    ),
    etf("IWM", "iShares Russell 2000 ETF", 5_000, 600, 2_400),
    etf(
        "VEA",
        "Vanguard FTSE Developed Markets ETF",
        3_000,
        400,
        1_900,
    ),
    etf("EFA", "iShares MSCI EAFE ETF", 4_500, 400, 1_900),
    etf(
        "VWO",
        "Vanguard FTSE Emerging Markets ETF",
        2_500,
        450,
        2_400,
    ),
    etf(
        "EEM",
        "iShares MSCI Emerging Markets ETF",
        2_700,
        450,
        2_500,
    ),
    etf(
        "VXUS",
        "Vanguard Total International Stock ETF",
        3_600,
        400,
        1_900,
    ),
    etf(
        "VIG",
        "Vanguard Dividend Appreciation ETF",
        4_000,
        650,
        1_600,
    ),
    etf("VYM", "Vanguard High Dividend Yield ETF", 3_500, 600, 1_600),
    etf("SCHD", "Schwab U.S. Dividend Equity ETF", 1_600, 700, 1_600),
    etf(
        "VGT",
        "Vanguard Information Technology ETF",
        5_500,
        1_000,
        2_700,
    ),
    etf(
        "XLK",
        "Technology Select Sector SPDR Fund",
        4_700,
        950,
        2_600,
    ),
    etf(
        "XLF",
        "Financial Select Sector SPDR Fund",
        1_800,
        450,
        2_600,
    ),
    etf("XLE", "Energy Select Sector SPDR Fund", 2_800, 450, 3_000),
    etf(
        "XLV",
        "Health Care Select Sector SPDR Fund",
        3_000,
        650,
        1_700,
    ),
    etf(
        "XLY",
        "Consumer Discretionary Select Sector SPDR Fund",
        3_200,
        700,
        2_300,
    ),
    etf(
        "XLP",
        "Consumer Staples Select Sector SPDR Fund",
        2_600,
        500,
        1_400,
    ),
    etf(
        "XLI",
        "Industrial Select Sector SPDR Fund",
        2_900,
        600,
        2_100,
    ),
    etf(
        "XLU",
        "Utilities Select Sector SPDR Fund",
        3_000,
        450,
        1_700,
    ),
    etf("VNQ", "Vanguard Real Estate ETF", 4_000, 500, 2_500),
    etf("SMH", "VanEck Semiconductor ETF", 2_500, 1_100, 3_300),
    etf("SOXX", "iShares Semiconductor ETF", 5_500, 1_100, 3_300),
    etf("ARKK", "ARK Innovation ETF", 2_000, 600, 4_500),
    etf("BND", "Vanguard Total Bond Market ETF", 7_000, 200, 500),
    etf(
        "AGG",
        "iShares Core U.S. Aggregate Bond ETF",
        9_500,
        200,
        500,
    ),
    etf(
        "TLT",
        "iShares 20+ Year Treasury Bond ETF",
        8_500,
        150,
        1_400,
    ),
    etf(
        "IEF",
        "iShares 7-10 Year Treasury Bond ETF",
        8_000,
        150,
        700,
    ),
    etf("SHY", "iShares 1-3 Year Treasury Bond ETF", 8_000, 100, 150),
    etf(
        "LQD",
        "iShares iBoxx Investment Grade Corporate Bond ETF",
        10_000,
        250,
        800,
    ),
    etf(
        "HYG",
        "iShares iBoxx High Yield Corporate Bond ETF",
        9_000,
        300,
        900,
    ),
    etf("GLD", "SPDR Gold Shares", 4_500, 600, 1_600),
    etf("SLV", "iShares Silver Trust", 700, 400, 3_000),
    stock(
        "AAPL",
        "Apple Inc. Common Stock",
        Listing::Nasdaq,
        100,
        2_000,
        3_300,
    ),
    stock(
        "MSFT",
        "Microsoft Corporation Common Stock",
        Listing::Nasdaq,
        5_800,
        900,
        2_700,
    ),
    stock(
        "NVDA",
        "NVIDIA Corporation Common Stock",
        Listing::Nasdaq,
        50,
        2_800,
        5_000,
    ),
    stock(
        "AMZN",
        "Amazon.com, Inc. Common Stock",
        Listing::Nasdaq,
        450,
        1_700,
        3_800,
    ),
    stock(
        "GOOGL",
        "Alphabet Inc. Class A Common Stock",
        Listing::Nasdaq,
        2_500,
        1_300,
        3_000,
    ),
    stock(
        "GOOG",
        "Alphabet Inc. Class C Capital Stock",
        Listing::Nasdaq,
        2_500,
        1_300,
        3_000,
    ),
    stock(
        "META",
        "Meta Platforms, Inc. Class A Common Stock",
        Listing::Nasdaq,
        2_000,
        1_500,
        4_000,
    ),
    stock(
        "TSLA",
        "Tesla, Inc. Common Stock",
        Listing::Nasdaq,
        150,
        2_200,
        5_500,
    ),
    stock(
        "BRK.B",
        "Berkshire Hathaway Inc. Class B",
        Listing::Nyse,
        3_500,
        800,
        1_800,
    ),
    stock(
        "JPM",
        "JPMorgan Chase & Co. Common Stock",
        Listing::Nyse,
        4_800,
        800,
        2_800,
    ),
    stock("V", "Visa Inc.", Listing::Nyse, 1_500, 1_400, 2_400),
    stock(
        "MA",
        "Mastercard Incorporated Common Stock",
        Listing::Nyse,
        1_000,
        1_700,
        2_600,
    ),
    stock(
        "UNH",
        "UnitedHealth Group Incorporated Common Stock",
        Listing::Nyse,
        1_500,
        1_500,
        2_500,
    ),
    stock(
        "JNJ",
        "Johnson & Johnson Common Stock",
        Listing::Nyse,
        4_700,
        550,
        1_700,
    ),
    stock(
        "PG",
        "Procter & Gamble Company Common Stock",
        Listing::Nyse,
        5_400,
        550,
        1_700,
    ),
    stock(
        "XOM",
        "Exxon Mobil Corporation Common Stock",
        Listing::Nyse,
        4_000,
        450,
        2_600,
    ),
    stock(
        "HD",
        "Home Depot, Inc. Common Stock",
        Listing::Nyse,
        6_000,
        900,
        2_500,
    ),
    stock(
        "KO",
        "Coca-Cola Company Common Stock",
        Listing::Nyse,
        2_900,
        500,
        1_700,
    ),
    stock(
        "PEP",
        "PepsiCo, Inc. Common Stock",
        Listing::Nasdaq,
        3_500,
        650,
        1_700,
    ),
    stock(
        "COST",
        "Costco Wholesale Corporation Common Stock",
        Listing::Nasdaq,
        4_500,
        1_300,
        2_200,
    ),
    stock(
        "WMT",
        "Walmart Inc. Common Stock",
        Listing::Nyse,
        2_200,
        700,
        2_000,
    ),
    stock(
        "DIS",
        "Walt Disney Company Common Stock",
        Listing::Nyse,
        2_900,
        600,
        2_800,
    ),
    stock(
        "NFLX",
        "Netflix, Inc. Common Stock",
        Listing::Nasdaq,
        100,
        2_500,
        5_000,
    ),
    stock(
        "AMD",
        "Advanced Micro Devices, Inc. Common Stock",
        Listing::Nasdaq,
        1_500,
        1_100,
        5_500,
    ),
    stock(
        "INTC",
        "Intel Corporation Common Stock",
        Listing::Nasdaq,
        4_000,
        100,
        3_200,
    ),
    stock(
        "CSCO",
        "Cisco Systems, Inc. Common Stock",
        Listing::Nasdaq,
        5_000,
        100,
        3_000,
    ),
    stock(
        "ORCL",
        "Oracle Corporation Common Stock",
        Listing::Nyse,
        2_800,
        900,
        3_000,
    ),
    stock(
        "ADBE",
        "Adobe Inc. Common Stock",
        Listing::Nasdaq,
        3_300,
        1_200,
        3_300,
    ),
    stock(
        "MCD",
        "McDonald's Corporation Common Stock",
        Listing::Nyse,
        3_900,
        1_000,
        1_900,
    ),
    stock(
        "BAC",
        "Bank of America Corporation Common Stock",
        Listing::Nyse,
        2_500,
        300,
        3_500,
    ),
    stock(
        "PFE",
        "Pfizer Inc. Common Stock",
        Listing::Nyse,
        3_200,
        50,
        2_300,
    ),
    // Not fractionable: fractional (notional) orders are refused.
    AssetSpec {
        symbol: "BRK.A",
        name: "Berkshire Hathaway Inc. Class A",
        listing: Listing::Nyse,
        fractionable: false,
        tradable: true,
        start_cents: 5_500_000,
        drift_bp: 800,
        vol_bp: 1_800,
        volume: 2_000,
    },
    AssetSpec {
        symbol: "TQQQ",
        name: "ProShares UltraPro QQQ",
        listing: Listing::Nasdaq,
        fractionable: false,
        tradable: true,
        start_cents: 300,
        drift_bp: 1_500,
        vol_bp: 7_000,
        volume: 50_000_000,
    },
    AssetSpec {
        symbol: "SQQQ",
        name: "ProShares UltraPro Short QQQ",
        listing: Listing::Nasdaq,
        fractionable: false,
        tradable: true,
        start_cents: 90_000,
        drift_bp: -3_000,
        vol_bp: 7_000,
        volume: 80_000_000,
    },
    // Listed but not tradable (halted or delisted).
    AssetSpec {
        symbol: "TWTR",
        name: "Twitter, Inc. Common Stock",
        listing: Listing::Nyse,
        fractionable: true,
        tradable: false,
        start_cents: 2_600,
        drift_bp: 300,
        vol_bp: 4_000,
        volume: 10_000_000,
    },
];

/// The asset for `symbol` (case-insensitive).
pub fn asset(symbol: &str) -> Option<&'static AssetSpec> {
    UNIVERSE
        .iter()
        .find(|a| a.symbol.eq_ignore_ascii_case(symbol))
}

/// A stable id per symbol, shaped like Alpaca's asset UUIDs.
pub fn asset_id(symbol: &str) -> String {
    let h = Sha256::digest(format!("dripfeed-asset:{symbol}"));
    let hex = hex::encode(&h[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
