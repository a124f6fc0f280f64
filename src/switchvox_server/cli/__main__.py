"""`python -m switchvox_server.cli`, the same as the `switchvox-server` script."""

from switchvox_server.cli import main

raise SystemExit(main())
