"""The command line: parse, call one core function, render. No logic lives here."""
