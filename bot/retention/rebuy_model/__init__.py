"""The likelihood-to-re-buy models: BG/NBD for "will they order again", Gamma-Gamma for "how much".

Pure domain code on numpy/scipy. The modules import numpy and scipy themselves, so
importing this package is cheap and commands that never score accounts do not pay
for the numeric stack at start-up:

- `inputs`: order rows -> per-account (x, t_x, T, mean repeat value) at a data cut-off;
- `bgnbd`: the BG/NBD likelihood, its fit, P(alive), expected orders, chance of an order;
- `gamma_gamma`: the Gamma-Gamma spend model and the expected value of an order;
- `fitting`: one fit of both models with the reliability rules, `FitResult`, scoring;
- `backtest`: fit on a calibration period and compare with what happened after it;
- `simulate`: synthetic BG/NBD customers (tests, benchmark);
- `fit_job`: the database side: load a workspace's orders and fit.
"""
