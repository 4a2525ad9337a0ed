"""What the app keeps between runs: preferences, the recent list and its directories."""
