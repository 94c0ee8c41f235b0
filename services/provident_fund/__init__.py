"""公积金 housing provident fund: deposit and loan rules."""
