"""What advsim writes and reads back: files written whole, tables, results folders."""
