"""A Jira REST simulator that follows Atlassian's OpenAPI descriptions, for demos, tests and benchmarks."""
