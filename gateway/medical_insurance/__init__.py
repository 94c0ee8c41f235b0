"""医保 across cities: enrolment view, 异地就医备案 and 异地就医直接结算."""
