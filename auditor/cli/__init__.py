"""The command line: ``main`` parses and maps errors to exit codes; ``commands`` run one command each."""
