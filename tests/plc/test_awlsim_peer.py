"""The awlsim peer itself: a deterministic S7 reference, cycle by cycle on virtual time."""

from __future__ import annotations

import pytest

from tests.plc.awlsim_peer import AwlsimPeer, AwlsimPeerError, parse_address, run_awl

# Skipped without awlsim, but failed under CI (tests/peers.py), where it must be installed.
pytestmark = [pytest.mark.usefixtures("awlsim"), pytest.mark.peer]


def column(rows: list[dict], address: str) -> list:
    return [row[address] for row in rows]


def test_bool_passthrough():
    rows = run_awl(
        "A I 0.0\n= Q 0.0\nAN I 0.1\n= Q 0.1\n",
        [{"I 0.0": False}, {"I 0.0": True}, {}, {"I 0.0": False, "I 0.1": True}],
        outputs=["Q 0.0", "Q 0.1"],
    )
    assert column(rows, "Q 0.0") == [False, True, True, False]
    assert column(rows, "Q 0.1") == [True, True, True, False]


def test_int_add_wraps_at_16_bits():
    rows = run_awl(
        "L IW 0\nL IW 2\n+I\nT QW 0\n",
        [{"IW 0": 32767, "IW 2": 1}, {"IW 0": -32768, "IW 2": -1}, {"IW 0": -5, "IW 2": 3}],
        outputs=["QW 0", "QW 0:WORD"],
    )
    assert column(rows, "QW 0") == [-32768, 32767, -2]
    assert column(rows, "QW 0:WORD") == [32768, 32767, 65534]


ON_DELAY = "A I 0.0\nL S5T#50MS\nSD T 1\nA T 1\n= Q 0.1\nL T 1\nT MW 0\n"


def test_s5_on_delay_turns_on_after_50_ms_of_virtual_time():
    # I 0.0 rises in cycle 2 (20 ms): Q 0.1 in cycle 7 (70 ms), not one cycle late.
    cycles = [{"I 0.0": k >= 2} for k in range(10)] + [{"I 0.0": False}]
    rows = run_awl(ON_DELAY, cycles, cycle_ms=10, outputs=["Q 0.1", "MW 0"])
    assert column(rows, "Q 0.1") == [False] * 7 + [True] * 3 + [False]
    # Remaining time in the 10 ms time base of S5T#50MS.
    assert column(rows, "MW 0")[:8] == [0, 0, 5, 4, 3, 2, 1, 0]
    assert run_awl(ON_DELAY, cycles, cycle_ms=10, outputs=["Q 0.1", "MW 0"]) == rows


@pytest.mark.parametrize(("cycle_ms", "on_cycle"), [(1, 50), (5, 10), (20, 3), (50, 1), (70, 1)])
def test_s5_on_delay_is_done_in_the_first_cycle_with_50_ms_elapsed(cycle_ms, on_cycle):
    rows = run_awl(ON_DELAY, [{"I 0.0": True}] * 60, cycle_ms=cycle_ms, outputs=["Q 0.1"])
    assert column(rows, "Q 0.1").index(True) == on_cycle


def test_counter_counts_rising_edges_only():
    levels = [0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0]
    rows = run_awl(
        "A I 0.0\nCU C 1\nL C 1\nT QW 2\n",
        [{"I 0.0": level} for level in levels],
        outputs=["QW 2", "C 1"],
    )
    assert column(rows, "QW 2") == [0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert column(rows, "C 1") == column(rows, "QW 2")


IEC_TIMERS = """
DATA_BLOCK DB 10
    SFB 4
BEGIN
END_DATA_BLOCK

DATA_BLOCK DB 11
    SFB 5
BEGIN
END_DATA_BLOCK

DATA_BLOCK DB 12
    SFB 3
BEGIN
END_DATA_BLOCK

ORGANIZATION_BLOCK OB 1
BEGIN
    CALL SFB 4, DB 10 (IN := I 0.0, PT := T#50MS, Q := Q 0.0, ET := MD 0)
    CALL SFB 5, DB 11 (IN := I 0.0, PT := T#30MS, Q := Q 0.1, ET := MD 4)
    CALL SFB 3, DB 12 (IN := I 0.0, PT := T#20MS, Q := Q 0.2, ET := MD 8)
END_ORGANIZATION_BLOCK
"""


def test_iec_timer_sfbs_ton_tof_tp():
    levels = [0] + [1] * 8 + [0] * 6  # IN rises at 10 ms, falls at 90 ms
    rows = run_awl(
        IEC_TIMERS,
        [{"I 0.0": level} for level in levels],
        outputs=["Q 0.0", "MD 0", "Q 0.1", "MD 4", "Q 0.2", "MD 8", "DB10.DBD 2:TIME"],
    )
    on = [bool(level) for level in levels]
    # TON: Q 50 ms after IN rises; ET counts 0..50 and holds, 0 when IN falls.
    assert column(rows, "Q 0.0") == [False] * 6 + [True] * 3 + [False] * 6
    assert column(rows, "MD 0") == [0, 0, 10, 20, 30, 40, 50, 50, 50] + [0] * 6
    # TOF: Q with IN, then 30 ms longer; ET counts from the falling edge and holds PT.
    assert column(rows, "Q 0.1") == on[:9] + [True] * 3 + [False] * 3
    assert column(rows, "MD 4") == [0] * 10 + [10, 20, 30, 30, 30]
    # TP: a 20 ms pulse from the rising edge; ET holds while IN stays TRUE.
    assert column(rows, "Q 0.2") == [False, True, True] + [False] * 12
    assert column(rows, "MD 8") == [0, 0, 10] + [20] * 6 + [0] * 6
    assert column(rows, "DB10.DBD 2:TIME") == [50] * len(levels)


CALLS = """
FUNCTION FC 1 : VOID
VAR_INPUT
    A1 : INT;
    B1 : INT;
END_VAR
VAR_OUTPUT
    SUM : DINT;
END_VAR
BEGIN
    L #A1
    ITD
    L #B1
    ITD
    +D
    T #SUM
END_FUNCTION

FUNCTION_BLOCK FB 1
VAR_INPUT
    IN : BOOL;
END_VAR
VAR_OUTPUT
    CNT : INT;
END_VAR
VAR
    OLD : BOOL;
END_VAR
BEGIN
    A #IN
    FP #OLD
    JCN end
    L #CNT
    + 1
    T #CNT
end: NOP 0
END_FUNCTION_BLOCK

DATA_BLOCK DB 1
    FB 1
BEGIN
END_DATA_BLOCK

ORGANIZATION_BLOCK OB 100
BEGIN
    L 1234
    T MW 100
END_ORGANIZATION_BLOCK

ORGANIZATION_BLOCK OB 1
BEGIN
    CALL FC 1 (A1 := IW 0, B1 := IW 2, SUM := MD 10)
    CALL FB 1, DB 1 (IN := I 4.0, CNT := QW 4)
    L ID 8
    L ID 12
    +D
    T QD 8
    L ID 16
    L ID 20
    *R
    T QD 12
    L ID 16
    RND
    T QD 16
END_ORGANIZATION_BLOCK
"""


def test_fc_fb_dint_real_and_ob100():
    peer = AwlsimPeer(CALLS)
    assert peer.read("MW 100") == 1234  # OB100 ran at startup
    outputs = ["MD 10", "QW 4", "DB1.DBW 2", "QD 8", "QD 12:REAL", "QD 16"]
    first = {"IW 0": 32767, "IW 2": 1, "I 4.0": True, "ID 8": 2**31 - 1, "ID 12": 1}
    first |= {"ID 16:REAL": 2.5, "ID 20:REAL": -1.5}
    rows = [
        peer.cycle(first, outputs),
        peer.cycle({"I 4.0": False, "ID 16:REAL": 3.5}, outputs),
        peer.cycle({"I 4.0": True}, outputs),
    ]
    assert column(rows, "MD 10") == [32768] * 3  # ITD before +D: no 16-bit wrap
    assert column(rows, "QW 4") == [1, 1, 2]  # FB instance state across cycles
    assert column(rows, "DB1.DBW 2") == [1, 1, 2]
    assert column(rows, "QD 8") == [-(2**31)] * 3  # +D wraps at 32 bits
    assert column(rows, "QD 12:REAL") == [-3.75, -5.25, -5.25]
    assert column(rows, "QD 16") == [2, 4, 4]  # RND: ties to even
    assert peer.now_ms == 30


def test_german_mnemonics():
    rows = run_awl(
        "U E 0.0\nL S5T#20MS\nSE T 1\nU T 1\n= A 0.0\n",
        [{"E 0.0": True}] * 4,
        outputs=["A 0.0"],
        mnemonics="de",
    )
    assert column(rows, "A 0.0") == [False, False, True, True]


def test_endless_loop_hits_the_wall_clock_watchdog():
    peer = AwlsimPeer("loop: JU loop\n", watchdog_s=0.2)
    with pytest.raises(AwlsimPeerError, match="wall-clock"):
        peer.cycle()


def test_bad_program_and_bad_addresses():
    with pytest.raises(AwlsimPeerError):
        AwlsimPeer("L IW 0\nXYZ 1\n")
    peer = AwlsimPeer("NOP 0\n")
    for bad in ["X 0", "I 0", "IW 0.1", "IW 0:REAL", "T 1:INT", "QB 5000", "DB9.DBW 0"]:
        with pytest.raises(AwlsimPeerError):
            peer.read(bad)
    with pytest.raises(AwlsimPeerError):
        peer.write("IW 0", 70000)
    with pytest.raises(AwlsimPeerError):
        peer.write("T 1", True)
    assert parse_address("db1.dbx 2.3").db == 1
