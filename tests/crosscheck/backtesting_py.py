#!/usr/bin/env python3
"""Cross-checks `dripfeed backtest` against backtesting.py (PyPI `backtesting`).

Both run a long-only SMA crossover on backtesting.py's bundled GOOG daily bars
with the same rules: signals on a bar's close, orders at the next bar's open,
all cash in whole shares, no commission, a position still open at the end
closed at the last close. (backtesting.py's `finalize_trades` would close it at
the last bar's open instead, so here it stays open there and its equity is
marked at the last close, which is what Dripfeed's closing at the last close
comes to.) For each pair of averages the closed trades (entry and exit dates
and prices, share counts) must be identical and the final equity equal to the
cent. Exits non-zero, naming the first difference, otherwise.

usage: backtesting_py.py DRIPFEED_BINARY   (run by `make crosscheck`)
"""
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG

PAIRS = [(5, 20), (10, 20), (10, 30), (20, 60)]
CASH = 10_000


def sma(values, n):
    return pd.Series(values).rolling(n).mean()


def theirs(fast, slow):
    class SmaCross(Strategy):
        def init(self):
            self.fast = self.I(sma, self.data.Close, fast)
            self.slow = self.I(sma, self.data.Close, slow)

        def next(self):
            if crossover(self.fast, self.slow):
                if not self.position:
                    self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(GOOG, SmaCross, cash=CASH, commission=0, trade_on_close=False, finalize_trades=False)
        stats = bt.run()
    trades = [
        {
            "entry_date": str(t.EntryTime)[:10],
            "exit_date": str(t.ExitTime)[:10],
            "entry_price": round(float(t.EntryPrice), 6),
            "exit_price": round(float(t.ExitPrice), 6),
            "quantity": int(t.Size),
        }
        for t in stats["_trades"].itertuples()
    ]
    return trades, float(stats["Equity Final [$]"])


def ours(binary, csv, fast, slow):
    out = subprocess.run(
        [binary, "backtest", "--csv", str(csv), "--strategy", "ma-crossover",
         "--fast", str(fast), "--slow", str(slow), "--cash", str(CASH), "--fill", "next-open",
         "--whole-shares", "--json"],
        check=True, capture_output=True, text=True,
    )
    report = json.loads(out.stdout)
    trades = [
        {
            "entry_date": t["entry_date"],
            "exit_date": t["exit_date"],
            "entry_price": round(t["entry_price"], 6),
            "exit_price": round(t["exit_price"], 6),
            "quantity": int(t["quantity"]),
        }
        for t in report["trades"]
        if t["exit_reason"] != "end_of_data"
    ]
    return trades, report["metrics"]["final_value"]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    csv = Path(sys.argv[0]).resolve().parent.parent.parent / "target" / "crosscheck-GOOG.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    GOOG.to_csv(csv, index_label="Date")
    failed = False
    for fast, slow in PAIRS:
        (their_trades, their_final), (our_trades, our_final) = theirs(fast, slow), ours(binary, csv, fast, slow)
        same_trades = their_trades == our_trades
        same_final = abs(their_final - our_final) < 0.005
        print(f"SMA {fast}/{slow}: {len(our_trades)} trades, final ${our_final:,.2f} "
              f"(backtesting.py: {len(their_trades)} trades, ${their_final:,.2f}): "
              f"{'same' if same_trades and same_final else 'DIFFERENT'}")
        if not same_trades:
            for i, (a, b) in enumerate(zip(their_trades, our_trades)):
                if a != b:
                    print(f"  first different trade #{i}: backtesting.py {a} vs dripfeed {b}")
                    break
            else:
                print(f"  trade counts differ: {len(their_trades)} vs {len(our_trades)}")
        failed |= not (same_trades and same_final)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
