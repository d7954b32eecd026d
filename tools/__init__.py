"""Build tools: what is run once to make what sleepd ships (the consolidation prior), not what
the daemon runs."""
