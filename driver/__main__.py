"""`python -m driver` is the same as the `jira-driver` console script."""

from driver.cli import main

raise SystemExit(main())
