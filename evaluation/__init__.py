"""sleepd.evaluation: memory scored on question sets (ingest a set, sleep, ask). It sits above
``ingest``, ``storage`` and ``memory`` and uses all three; nothing below imports it."""
