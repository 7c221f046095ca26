"""Import of the two contract tables from xlsx / csv / parquet into the warehouse, row by row checked."""
