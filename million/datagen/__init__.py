"""Mock bank data with known true dynamics (see dynamics.py) and an oracle of the true propensity."""
