"""人才 across cities at the gateway: continuing-education hours recognised, the whole record for title evaluation."""
