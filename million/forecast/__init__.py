"""AUM forecasts: ARIMA (order by AIC over a small grid after an ADF stationarity check) against naive
and drift baselines, for the total, each segment, each branch and any customer.
`serving.ForecastService` is what the forecast_aum tool loads."""
