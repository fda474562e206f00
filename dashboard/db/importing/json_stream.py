"""The items of a JSON array read from a text file one at a time, in memory bounded by the
largest item: :func:`json.load` would hold the whole array (a 1 GB file, a 1 GB list)."""

from __future__ import annotations

import json
import typing as t

from dashboard.messages import N_, Message

_CHUNK = 64 * 1024
_SPACE = " \t\r\n"


class JSONStreamError(Exception):
    """The text is not a JSON array; ``message`` says where it broke."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def array_items(file: t.TextIO) -> t.Iterator[t.Any]:
    """Every item of the JSON array ``file`` holds, decoded, in order."""
    decoder = json.JSONDecoder()
    buffer, position, ended = "", 0, False

    def more() -> bool:
        nonlocal buffer, position, ended
        if ended:
            return False
        chunk = file.read(_CHUNK)
        ended = not chunk
        buffer, position = buffer[position:] + chunk, 0
        return bool(chunk)

    def next_char() -> str:
        """The next character that is not white space, without consuming it ("" at the end)."""
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in _SPACE:
                position += 1
            if position < len(buffer) or not more():
                return buffer[position] if position < len(buffer) else ""

    if next_char() != "[":
        raise JSONStreamError(Message(N_("The file is not a JSON array of objects.")))
    position += 1
    count = 0
    if next_char() == "]":
        position += 1
    else:
        while True:
            next_char()  # the decoder takes no white space before a value
            while True:
                try:
                    item, end = decoder.raw_decode(buffer, position)
                except json.JSONDecodeError:
                    # Perhaps the item runs on past what was read so far.
                    if more():
                        continue
                    raise JSONStreamError(
                        Message(N_("Item %(row)s of the JSON array is not valid JSON."), row=count + 1)
                    ) from None
                except RecursionError:
                    raise JSONStreamError(
                        Message(N_("Item %(row)s of the JSON array is nested too deeply."), row=count + 1)
                    ) from None
                # A number that ends where the text read so far ends may go on ("12" of "123").
                if end == len(buffer) and not ended and more():
                    continue
                break
            position = end
            count += 1
            yield item
            separator = next_char()
            position += 1
            if separator == "]":
                break
            if separator != ",":
                raise JSONStreamError(
                    Message(N_("The JSON array is broken after item %(row)s (a comma or ] is missing)."), row=count)
                )
            # After the decoder had all it needed, drop what is behind so the buffer stays small.
            buffer, position = buffer[position:], 0
    if next_char() != "":
        raise JSONStreamError(Message(N_("The file holds more than one JSON array.")))
