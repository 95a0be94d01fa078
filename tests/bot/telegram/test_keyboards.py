"""Buttons: callback data round-trips, fits Telegram's 64 bytes, and forgeries are told apart."""

from __future__ import annotations

import pytest

from bot.answer import MAX_PAGE
from bot.telegram.keyboards import Action, ButtonCodec, ButtonPress, InvalidButton, new_ref


def test_callback_data_round_trips_and_fits_in_64_bytes() -> None:
    codec = ButtonCodec(b"secret")
    for action in Action:
        press = ButtonPress(action, new_ref(), MAX_PAGE)
        data = codec.encode(press)
        assert len(data.encode()) <= 64
        assert codec.decode(data) == press


@pytest.mark.parametrize(
    "data",
    [None, "", "m", "m:short:2:AAAAAAAA", "q:AAAAAAAAAAA:2:AAAAAAAA", "m:AAAAAAAAAAA:0:AAAAAAAA", "é" * 40],
)
def test_malformed_data_is_refused(data: str | None) -> None:
    with pytest.raises(InvalidButton):
        ButtonCodec(b"secret").decode(data)


def test_data_signed_with_another_secret_or_altered_is_refused() -> None:
    press = ButtonPress(Action.MORE, new_ref(), 2)
    data = ButtonCodec(b"other bot").encode(press)
    with pytest.raises(InvalidButton):
        ButtonCodec(b"secret").decode(data)
    mine = ButtonCodec(b"secret").encode(press)
    with pytest.raises(InvalidButton):
        ButtonCodec(b"secret").decode(mine.replace(":2:", ":3:"))


def test_keyboard_offers_more_only_when_there_is_more() -> None:
    codec = ButtonCodec(b"secret")
    with_more = codec.answer_keyboard(new_ref(), 1, has_more=True).inline_keyboard
    without = codec.answer_keyboard(new_ref(), 1, has_more=False).inline_keyboard
    assert [[b.text for b in row] for row in with_more] == [["More ▸"], ["👍", "👎"]]
    assert [[b.text for b in row] for row in without] == [["👍", "👎"]]
    assert codec.decode(with_more[0][0].callback_data).page == 2
