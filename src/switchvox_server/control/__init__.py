"""The control API (`/_switchvox/`): reset, state, seed, request journal, fault injection and
run-time settings, for the test suites that drive this server. Present only when
SWITCHVOX_CONTROL_TOKEN is set."""
