"""The store's PostgreSQL side, for a pair of drivers on one database (issue 22). So far: the
sender's lease (lease). The tables of the log, tickets and journals follow, behind the same
interface as the SQLite store's."""
