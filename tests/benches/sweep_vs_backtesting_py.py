#!/usr/bin/env python3
"""Benchmark (b): a 400-pair SMA crossover sweep, Dripfeed vs backtesting.py.

Both sweep fast 5..24 x slow 25..44 (400 pairs) over backtesting.py's bundled
GOOG bars (2,148 days) with the same rules as tests/crosscheck (long only,
next-open fills, all cash in whole shares, no commission), rank by final
equity, and must agree on the best pair, its final equity, and its trades.
Prints both wall-clock times (Dripfeed's includes starting the process and
reading the CSV) and the ratio; and, like for like, the sweep alone timed in
process (tests/benches/sweep.rs) against `optimize` alone (both with their data
already loaded). Not a test: it reports, it does not time out.

usage: sweep_vs_backtesting_py.py RELEASE_DRIPFEED_BINARY SWEEP_BENCH_BINARY   (`make bench-sweep`)
"""
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA

FAST = range(5, 25)
SLOW = range(25, 45)
CASH = 10_000


class SmaCross(Strategy):
    n1 = 10
    n2 = 30

    def init(self):
        self.fast = self.I(SMA, self.data.Close, self.n1)
        self.slow = self.I(SMA, self.data.Close, self.n2)

    def next(self):
        if crossover(self.fast, self.slow):
            if not self.position:
                self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()


def trades_of(stats):
    return [
        (str(t.EntryTime)[:10], str(t.ExitTime)[:10], round(float(t.EntryPrice), 6),
         round(float(t.ExitPrice), 6), int(t.Size))
        for t in stats["_trades"].itertuples()
    ]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, bench = sys.argv[1], sys.argv[2]
    csv = Path(__file__).resolve().parent.parent.parent / "target" / "bench-GOOG.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    GOOG.to_csv(csv, index_label="Date")

    bt = Backtest(GOOG, SmaCross, cash=CASH, commission=0, trade_on_close=False, finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        best = bt.optimize(n1=FAST, n2=SLOW, maximize="Equity Final [$]", constraint=lambda p: p.n1 < p.n2)
        theirs = time.perf_counter() - start
    their_pair = (best._strategy.n1, best._strategy.n2)

    args = [binary, "backtest", "--csv", str(csv), "--fast", "5..24", "--slow", "25..44",
            "--cash", str(CASH), "--whole-shares", "--json"]
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        out = subprocess.run(args, check=True, capture_output=True, text=True)
        runs.append(time.perf_counter() - start)
    ours = sorted(runs)[len(runs) // 2]
    report = json.loads(out.stdout)
    our_pair = (report["best"]["fast"], report["best"]["slow"])
    our_final = report["best"]["metrics"]["final_value"]

    single = subprocess.run(
        [binary, "backtest", "--csv", str(csv), "--fast", str(our_pair[0]), "--slow", str(our_pair[1]),
         "--cash", str(CASH), "--json"], check=True, capture_output=True, text=True)
    our_trades = [
        (t["entry_date"], t["exit_date"], round(t["entry_price"], 6), round(t["exit_price"], 6), int(t["quantity"]))
        for t in json.loads(single.stdout)["trades"] if t["exit_reason"] != "end_of_data"
    ]
    same = (their_pair == our_pair and abs(float(best["Equity Final [$]"]) - our_final) < 0.005
            and trades_of(best) == our_trades)
    print(f"pairs: {len(report['pairs'])}; best {our_pair} final ${our_final:,.2f} "
          f"(backtesting.py: {their_pair}, ${float(best['Equity Final [$]']):,.2f}); "
          f"trades {'identical' if same else 'DIFFERENT'}")
    print(f"backtesting.py optimize: {theirs:.2f} s; dripfeed (median of 5, whole process): "
          f"{ours * 1000:.1f} ms; {theirs / ours:.0f}x faster")
    alone = json.loads(subprocess.run([bench, "--csv", str(csv)], check=True, capture_output=True,
                                      text=True).stdout)
    same_alone = (alone["best"]["fast"], alone["best"]["slow"]) == our_pair and \
        abs(float(alone["best"]["final_value"]) - our_final) < 0.005
    print(f"the sweep alone, in process (median of 21): {alone['median_ms']:.1f} ms "
          f"(fastest {alone['fastest_ms']:.1f} ms) vs optimize alone {theirs:.2f} s: "
          f"{theirs * 1000 / alone['median_ms']:.0f}x faster; best pair "
          f"{'the same' if same_alone else 'DIFFERENT'}")
    sys.exit(0 if same and same_alone else 1)


if __name__ == "__main__":
    main()
