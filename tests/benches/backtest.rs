//! Benchmark (a): a 20-year, 10-symbol plan comparison (pure DCA, smart DCA,
//! the lump sum and a benchmark bought on the same days) over daily bars.
//! Reports the median time of a whole comparison; the target is 20 ms.
//!
//! ```text
//! cargo bench --features ssr --bench backtest
//! cargo bench --features ssr --bench backtest -- --every weekly --runs 50 --seed 7
//! ```
//!
//! The bars are a seeded random walk per symbol (the seed is printed) on the
//! exchange calendar's trading days from 2005 to 2024.

use chrono::{NaiveDate, NaiveTime, Weekday};
use dripfeed::domain::backtest::Fill;
use dripfeed::domain::backtest::plan::{self, Bars, PlanInput};
use dripfeed::domain::calendar::trading_days;
use dripfeed::domain::plan::Mode;
use dripfeed::domain::schedule::{Cadence, Schedule, TimeOfDay};
use dripfeed::domain::strategy::Bar;
use rust_decimal::Decimal;
use std::time::Instant;

/// xorshift64*: enough for a price walk, and the same for a given seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A daily move of −2 % to +2.1 % in basis points.
    fn move_bps(&mut self) -> i64 {
        (self.next() % 411) as i64 - 200
    }
}

fn walk(rng: &mut Rng, days: &[NaiveDate]) -> Vec<Bar> {
    let mut cents: i64 = 10_000 + (rng.next() % 10_000) as i64;
    days.iter()
        .map(|d| {
            let open = cents;
            cents = (cents + cents * rng.move_bps() / 10_000).max(100);
            let (o, c) = (Decimal::new(open, 2), Decimal::new(cents, 2));
            Bar {
                date: *d,
                open: o,
                high: o.max(c),
                low: o.min(c),
                close: c,
                volume: Decimal::from(1_000_000),
            }
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let mut every = "daily".to_owned();
    let mut runs = 20usize;
    let mut seed = 20_261_201u64;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--every" => every = value()?,
            "--runs" => runs = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--bench" => {}
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    println!("seed {seed} (--seed N for another)");
    let (from, to) = (
        NaiveDate::from_ymd_opt(2005, 1, 3).expect("a date"),
        NaiveDate::from_ymd_opt(2024, 12, 31).expect("a date"),
    );
    let days: Vec<NaiveDate> = trading_days(from, to).map(|d| d.date).collect();
    let mut rng = Rng(seed.max(1));
    let symbols: Vec<String> = (0..10).map(|i| format!("S{i:02}")).collect();
    let mut bars: Bars = symbols
        .iter()
        .map(|s| (s.clone(), walk(&mut rng, &days)))
        .collect();
    bars.insert("SPY".to_owned(), walk(&mut rng, &days));
    let legs: Vec<(String, Decimal)> = symbols
        .iter()
        .map(|s| (s.clone(), Decimal::from(10)))
        .collect();
    let cadence = match every.as_str() {
        "daily" => Cadence::Daily,
        "weekly" => Cadence::Weekly {
            weekday: Weekday::Mon,
        },
        "monthly" => Cadence::Monthly {
            day: dripfeed::domain::schedule::MonthDay::Day(1),
        },
        other => anyhow::bail!("--every daily|weekly|monthly, not {other}"),
    };
    let schedule = Schedule::new(
        cadence,
        TimeOfDay::Local(NaiveTime::from_hms_opt(10, 0, 0).expect("10:00")),
        "America/New_York",
        from,
        Some(to),
    )?;
    let input = PlanInput::new(&legs, &schedule, from, to, Fill::NextOpen);
    let smart = Mode::smart(20, true).map_err(anyhow::Error::msg)?;
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let pure = plan::dca(&input, &bars, &Mode::Pure, 0.0)?;
        let smart = plan::dca(&input, &bars, &smart, 0.0)?;
        let lump = plan::lump_sum(&input, &bars, 0.0)?;
        let spy = plan::benchmark(&input, &bars, "SPY", 0.0)?;
        times.push(start.elapsed());
        last = Some((pure, smart, lump, spy));
    }
    times.sort();
    let (pure, smart, _, spy) = last.expect("at least one run");
    println!(
        "{} trading days, 10 symbols + SPY, {every} runs ({} of them, {} buys in pure DCA, {} skipped legs in smart DCA)",
        days.len(),
        pure.metrics.buys / 10,
        pure.metrics.buys,
        smart.metrics.skipped
    );
    println!("{}", plan::headline(&pure, &spy));
    println!(
        "comparison (pure, smart, lump sum, benchmark): median {:.1} ms, fastest {:.1} ms, over {runs} runs",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0
    );
    Ok(())
}
