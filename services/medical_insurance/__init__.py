"""医保 medical insurance: contribution and settlement rules."""
