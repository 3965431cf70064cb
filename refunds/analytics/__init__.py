"""Operations analytics: is the review promise kept, and where refunds come from.

Each page is a module with a build(period, now) function returning a Page: charts and the
tables of figures beside them. Every figure is computed in the database (aggregates and
conditional counts; percentiles with percentile_cont on PostgreSQL and an ordered offset on
SQLite), never by loading rows into Python. The back office shows the pages
(refunds/admin/analytics.py) and downloads each table as CSV with the same filters.
"""
