"""公积金 across cities at the gateway: loan eligibility with deposits in every city recognised."""
