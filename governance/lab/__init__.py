"""The policy lab: workloads of service requests, replayed through policies to weigh service against privacy."""
