# settings/board.py's by_board, run by settings.load(): a setting config.py
# leaves at None gets the default of the board it runs on
# (sys.implementation._machine names it), a value set in config.py is kept. The Pico 2 W's larger defaults cannot be seen running
# (no RP2350 emulator): here they are chosen from the name alone.
import settings
from settings.board import _BY_BOARD, by_board

PICO_W = "Raspberry Pi Pico W with RP2040"
PICO2_W = "Raspberry Pi Pico 2 W with RP2350"


class _Config:
    LOG_RING_BYTES = None


def _resolved(machine, **settings_):
    c = _Config()
    for name, value in settings_.items():
        setattr(c, name, value)
    by_board(c, machine)
    return c


def test_a_pico_2_w_keeps_four_times_the_log_lines():
    assert _resolved(PICO2_W).LOG_RING_BYTES == 8192
    assert _resolved(PICO2_W + "-RISCV").LOG_RING_BYTES == 8192  # the same chip in RISC-V mode


def test_a_pico_w_and_a_pc_get_the_pico_ws_defaults():
    assert _resolved(PICO_W).LOG_RING_BYTES == 2048
    assert _resolved("linux [GCC 12.2.0] version").LOG_RING_BYTES == 2048
    assert _resolved("").LOG_RING_BYTES == 2048  # a port without _machine


def test_a_value_set_in_config_py_is_kept_on_either_board():
    assert _resolved(PICO2_W, LOG_RING_BYTES=1000).LOG_RING_BYTES == 1000
    assert _resolved(PICO_W, LOG_RING_BYTES=9000).LOG_RING_BYTES == 9000


def test_the_loaded_settings_have_a_number_for_every_board_default():
    config = settings.load()
    for name, pico_w, _ in _BY_BOARD:
        assert getattr(config, name) == pico_w, name  # this is a PC: the Pico W's
