"""Running web/static's scripts in Node: the parity tests of the browser's code in the default test run."""
