"""The one copy of each number formatter: milliseconds, bitrates, clock times, ordinals."""

from __future__ import annotations

NO_VALUE = "—"  # shown where a measurement is missing


# Below this a time shows as "under 0.1 ms" (one decimal place would round it to 0).
SUB_RESOLUTION_MS = 0.05


def fmt_ms(value: float) -> str:
    """'310 ms', '1 ms', '0.4 ms', 'under 0.1 ms' (not '0 ms' for a real 0.04 ms)."""
    if 0 < value < SUB_RESOLUTION_MS:
        return "under 0.1 ms"
    if -SUB_RESOLUTION_MS < value < 0:
        return "0 ms"  # a tiny negative difference: no sign worth showing
    if abs(value) >= 10 or float(value).is_integer():
        return f"{value:.0f} ms"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text} ms"


def fmt_bitrate(bps: float | None) -> str:
    """'850 kbit/s', '2.5 Mbit/s', '12 Mbit/s'; the missing-value dash for None."""
    if bps is None:
        return NO_VALUE
    mbps = bps / 1e6
    if mbps >= 10:
        return f"{mbps:.0f} Mbit/s"
    if mbps >= 0.1:
        return f"{mbps:.1f} Mbit/s"
    return f"{bps / 1e3:.0f} kbit/s"


def fmt_clock(seconds: float | None) -> str:
    """A playback position: '0:07', '12:34', '1:02:03'; '--:--' when unknown."""
    if seconds is None:
        return "--:--"
    s = int(max(0, seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_value(value: float | None, unit: str, digits: int = 1) -> str:
    """'3.2 s', '41 %'; the missing-value dash for None."""
    return NO_VALUE if value is None else f"{value:.{digits}f} {unit}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
