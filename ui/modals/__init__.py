"""Modal screens: one question or one form over the page that asked (add a field, Jira auth,
confirm, a line of text)."""
