"""The error raised for bad input data: it names the file, row or id, and says what to do."""
from __future__ import annotations

import re
from typing import Optional


class DataError(ValueError):
    """Bad input data. ``str(err)`` reads ``<file>: line <n>: <what is wrong>. <what to do>`` (``line`` counts the
    header as line 1), always on one line: a line break inside a part (a parser's message) becomes a space."""

    def __init__(self, message: str, *, file: Optional[str] = None, line: Optional[int] = None,
                 hint: Optional[str] = None) -> None:
        self.file, self.line, self.hint = file, line, hint
        where = ""
        if file is not None:
            where += f"{file}: "
        if line is not None:
            where += f"line {line}: "
        text = where + message.strip()
        if hint:
            text += f". {hint}"
        super().__init__(re.sub(r"\s*[\r\n]+\s*", " ", text).strip())
