"""The matching engine: rules as data, a keyword prefilter, regexes on windows, validators."""
