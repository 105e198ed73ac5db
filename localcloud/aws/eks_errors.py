"""The error EKS's API answers with: a code (the `x-amzn-ErrorType`) and a message."""

from __future__ import annotations


class EksError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
