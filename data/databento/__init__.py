"""Databento DBN files into the project's catalog layout, in bounded memory (``python -m data.databento_import``).

files        header checks and the chunked, truncation-checking record reader
symbology    definitions: the instruments kept and the Databento instrument ids that resolve to them
consolidate  one best quote per instrument from per-exchange records (the publisher rule)
filters      expiries within N days, strikes within a moneyness band, a quote sampling interval
catalog_io   quotes and trades written to (and read back from) the catalog's Parquet files as Arrow columns
"""
