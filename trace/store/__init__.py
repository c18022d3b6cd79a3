"""trace/store: the trace tables and every SQL statement over them."""
