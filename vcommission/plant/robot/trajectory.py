"""Motion profiles in pure Python: synchronised trapezoidal PTP, LIN paths, and path following.

Every motion is a *path* ``q(s)`` for a path parameter ``s`` from 0 to 1, and a *speed
profile* ``s(t)`` the :class:`PathFollower` integrates exactly, tick by tick:

* **PTP** (joint space, synchronised): ``q(s) = q0 + s * (q1 - q0)``. The path speed limit
  is the tightest joint's ``v_max_j / |dq_j|`` (acceleration likewise), so the leading axis
  moves at its limit and every other axis starts and stops with it: a straight line in joint
  space with one trapezoidal profile, the classic synchronised PTP of industrial controllers.
* **LIN** (Cartesian): the TCP moves on a straight line (orientation by slerp). The path is
  sampled (at most 5 mm or 2 degrees apart) and each sample solved by IK from the previous
  one when the motion starts; ``q(s)`` interpolates the samples. Path speed is limited by the
  Cartesian speed and by every joint's limit over the samples (``v_max_j / max|dq_j/ds|``).

The follower runs the profile *online*: accelerate at ``a`` to the speed cap, cruise, brake
at ``a`` to stop exactly at ``s = 1``. The cap can change every tick (override, reduced
speed, move enable) and a stop request brakes along the path at a given deceleration; each
tick is integrated piecewise-analytically (events inside a tick are found exactly), so an
unchanged profile takes exactly the textbook trapezoid time, ``D/v + v/a``, and finishes
inside the tick in which that time falls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PathFollower", "interpolate", "trapezoid_time"]

_EPS = 1e-12


def trapezoid_time(distance: float, v_max: float, a_max: float) -> float:
    """Duration of a rest-to-rest trapezoidal (or triangular) profile over ``distance``."""
    distance = abs(distance)
    if distance == 0:
        return 0.0
    if distance >= v_max * v_max / a_max:
        return distance / v_max + v_max / a_max
    return 2.0 * math.sqrt(distance / a_max)


@dataclass
class PathFollower:
    """Integrates a path position ``s`` in [0, 1] and its speed ``v``, one tick at a time."""

    #: Path position, 0 (start) .. 1 (end).
    s: float = 0.0
    #: Path speed, 1/s (>= 0).
    v: float = 0.0

    @property
    def done(self) -> bool:
        return self.s >= 1.0 and self.v == 0.0

    def advance(
        self,
        dt: float,
        v_cap: float,
        accel: float,
        *,
        stop_decel: float | None = None,
        over_cap_decel: float | None = None,
    ) -> None:
        """Move on by ``dt`` seconds.

        Args:
            dt: time step, s.
            v_cap: speed limit now, 1/s (0 stops on the path at ``accel``).
            accel: acceleration and braking limit of the path, 1/s^2.
            stop_decel: when given, brake at this deceleration until at rest (a protective
                stop); the end of the path still ends the motion.
            over_cap_decel: deceleration while faster than ``v_cap`` (default ``accel``);
                reduced speed uses a harder one to get under its limit quickly.
        """
        tau = dt
        s, v = self.s, self.v
        down = accel if over_cap_decel is None else max(accel, over_cap_decel)
        for _ in range(16):  # each pass consumes an event or the rest of the tick
            if tau <= _EPS:
                break
            remaining = 1.0 - s
            if remaining <= _EPS:
                s, v = 1.0, 0.0
                break
            if stop_decel is not None:
                if v <= _EPS:
                    v = 0.0
                    break
                d = max(stop_decel, v * v / (2.0 * remaining))  # never past the end
                t = min(tau, v / d)
                s, v, tau = s + v * t - 0.5 * d * t * t, max(0.0, v - d * t), tau - t
                if v <= _EPS:
                    v = 0.0
                continue
            braking = v * v / (2.0 * accel)
            if braking >= remaining - 1e-12 and v > _EPS:
                # On the braking curve: decelerate to land exactly on the end.
                d = v * v / (2.0 * remaining)
                t_end = v / d
                if t_end <= tau:
                    s, v, tau = 1.0, 0.0, tau - t_end
                    break
                s, v, tau = s + v * tau - 0.5 * d * tau * tau, v - d * tau, 0.0
                break
            if v > v_cap + 1e-12:
                # Too fast for the cap: slow down (braking distance shrinks as fast as the
                # distance to go, so no braking event can come first).
                t = min(tau, (v - v_cap) / down)
                s, v, tau = s + v * t - 0.5 * down * t * t, v - down * t, tau - t
                if abs(v - v_cap) < 1e-12:
                    v = v_cap
                continue
            if v < v_cap - 1e-12:
                # Accelerate until the cap or the braking point, whichever comes first.
                t_cap = (v_cap - v) / accel
                t_brake = (-v + math.sqrt(v * v / 2.0 + accel * remaining)) / accel
                t = min(tau, t_cap, t_brake)
                s, v, tau = s + v * t + 0.5 * accel * t * t, v + accel * t, tau - t
                if t == t_cap:
                    v = v_cap
                continue
            # Cruise at the cap until the braking point.
            v = v_cap
            if v <= _EPS:
                v = 0.0
                break
            t = min(tau, (remaining - braking) / v)
            s, tau = s + v * t, tau - t
        self.s, self.v = min(s, 1.0), max(v, 0.0)
        if self.s >= 1.0 - 1e-12 and self.v <= 1e-9:
            self.s, self.v = 1.0, 0.0


def interpolate(samples: Sequence[Sequence[float]], s: float) -> list[float]:
    """Piecewise-linear value at ``s`` in [0, 1] of equally spaced ``samples``."""
    n = len(samples) - 1
    if n <= 0:
        return list(samples[0])
    x = min(max(s, 0.0), 1.0) * n
    i = min(int(x), n - 1)
    f = x - i
    a, b = samples[i], samples[i + 1]
    return [ai + (bi - ai) * f for ai, bi in zip(a, b, strict=True)]
