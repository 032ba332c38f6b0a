"""Reading and writing message tables: CSV, TSV, XLSX, XLS, JSONL (text formats optionally gzip-compressed) and
Parquet; a folder or glob of such files is read as one dataset, an output name without extension is written as
a Parquet dataset.

Tables are read in chunks of string columns (nothing is parsed as a number, empty cells stay empty) with, per
row, the reason it could not be read (``Chunk.errors``); every record of the input gives one row, kept in place.
The encoding of text files is detected (UTF-8, UTF-8 with BOM, GBK/GB18030, Big5), the header row, the sheet and
the text and title columns are found by their usual names. Outputs are written atomically.

Modules: ``formats`` (file names to formats), ``encoding`` (detection, line-by-line fallback), ``columns``
(header row and column names), ``delimited``/``excel``/``jsonl``/``parquet`` (the readers), ``dataset`` (folders
and globs of files), ``table`` (``open_table``), ``writers`` (``TableWriter``).
"""

from classifier.io.chunk import Chunk
from classifier.io.columns import OTHER_COLUMNS, TEXT_COLUMNS, TITLE_COLUMNS, append_columns, find_column
from classifier.io.encoding import detect_encoding
from classifier.io.formats import FORMATS, table_format
from classifier.io.table import Table, estimate_rows, open_table, read_table
from classifier.io.writers import EXCEL_CUT, EXCEL_MAX_CELL_CHARS, EXCEL_MAX_ROWS, TableWriter, check_output_path

__all__ = [
    "EXCEL_CUT",
    "EXCEL_MAX_CELL_CHARS",
    "EXCEL_MAX_ROWS",
    "FORMATS",
    "OTHER_COLUMNS",
    "TEXT_COLUMNS",
    "TITLE_COLUMNS",
    "Chunk",
    "Table",
    "TableWriter",
    "check_output_path",
    "detect_encoding",
    "estimate_rows",
    "append_columns",
    "find_column",
    "open_table",
    "read_table",
    "table_format",
]  # fmt: skip
