"""The bulk upload pipeline: CSV reading, row rules, planning against the store, report."""
