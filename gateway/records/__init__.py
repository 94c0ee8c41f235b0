"""Cross-city record lookup (民生档案异地查询): one request, every city, in parallel."""
