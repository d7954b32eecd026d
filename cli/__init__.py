"""sleepd.cli: the thin command-line client. It never imports torch."""
