"""LSTM Inspector: the launcher package (command line and window start-up). The work is done by engine/ and gui/."""
