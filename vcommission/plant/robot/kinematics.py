"""Robot kinematics in pure numpy: URDF parsing, forward kinematics and inverse kinematics.

Why not pybullet's ``calculateInverseKinematics``: a robot's teach points are checked for
reachability when the model is *loaded* (``vcommission check``, ``io-list``), and loading a
model must not import the physics engine (tests/config/test_no_pybullet.py). pybullet's IK
also needs a live body and answers with no convergence flag, so an unreachable point would
come back as a plausible-looking wrong pose. Here the URDF is read with :mod:`xml.etree`, the
serial chain from the root link to the flange is multiplied out joint by joint (FK), and IK is
damped least squares (Levenberg-Marquardt on the 6-D pose error, joint limits clamped every
iteration, a fixed list of start configurations): deterministic to the bit for the same input,
with an explicit residual, so "unreachable" is a clear answer. The FK is cross-checked against
pybullet's ``getLinkState`` in tests/plant/test_robot_kinematics.py.

Units are SI throughout (radians, metres); the robot component converts degrees from YAML.
"""

from __future__ import annotations

import functools
import math
import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Chain",
    "IkResult",
    "JointSpec",
    "UrdfError",
    "load_chain",
    "matrix_quaternion",
    "pose_matrix",
    "rotation_error",
    "rpy_matrix",
    "slerp_matrix",
]

#: Joint kinds that move (a robot axis); ``fixed`` joints only fold into the transforms.
MOVABLE = ("revolute", "continuous", "prismatic")


class UrdfError(ValueError):
    """Raised when a URDF file cannot be read or has no usable serial chain."""


def rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Rotation of URDF ``rpy`` (fixed axes x, y, z: ``Rz(yaw) @ Ry(pitch) @ Rx(roll)``)."""
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cy, sy = math.cos(yaw), math.sin(yaw)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def pose_matrix(xyz: np.ndarray | tuple, rotation: np.ndarray | None = None) -> np.ndarray:
    """A 4x4 homogeneous transform from a translation and a 3x3 rotation."""
    t = np.eye(4)
    if rotation is not None:
        t[:3, :3] = rotation
    t[:3, 3] = xyz
    return t


def _axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    x, y, z = axis
    c, s = math.cos(angle), math.sin(angle)
    C = 1.0 - c
    return np.array(
        [
            [c + x * x * C, x * y * C - z * s, x * z * C + y * s],
            [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
            [z * x * C - y * s, z * y * C + x * s, c + z * z * C],
        ]
    )


def rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Rotation vector (axis x angle, world frame) taking ``current`` onto ``target``."""
    r = target @ current.T
    cos = max(-1.0, min(1.0, (np.trace(r) - 1.0) / 2.0))
    angle = math.acos(cos)
    v = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if angle < 1e-9:
        return 0.5 * v
    if math.pi - angle < 1e-6:
        # Near 180 degrees the skew part vanishes: take the axis from the diagonal.
        axis = np.sqrt(np.maximum((np.diag(r) + 1.0) / 2.0, 0.0))
        k = int(np.argmax(axis))
        signs = np.sign(r[k] + r[:, k])
        signs[k] = 1.0
        axis = axis * np.where(signs == 0, 1.0, signs)
        return axis / np.linalg.norm(axis) * angle
    return v * (angle / (2.0 * math.sin(angle)))


@dataclass(frozen=True)
class JointSpec:
    """One movable joint of the chain, as the URDF declares it (SI units)."""

    name: str
    #: ``revolute``, ``continuous`` or ``prismatic``.
    type: str
    #: Unit axis in the joint frame.
    axis: tuple[float, float, float]
    lower: float
    upper: float
    #: URDF ``<limit velocity>``; inf when the URDF gives none.
    velocity: float
    #: Child link: the link this joint moves.
    child: str

    @property
    def prismatic(self) -> bool:
        return self.type == "prismatic"


@dataclass(frozen=True)
class IkResult:
    """What inverse kinematics found: a configuration and how far it is from the target."""

    q: np.ndarray
    #: Position error left, metres.
    position_error: float
    #: Orientation error left, radians.
    orientation_error: float
    #: The solution is inside the joint limits and within tolerance of the target.
    ok: bool


@dataclass(eq=False)
class Chain:
    """The serial chain of a URDF from its root link to the flange link."""

    #: Absolute path of the URDF file.
    path: str
    #: Root link name (the body's base in pybullet).
    root: str
    #: Flange link name (the chain's end: where a tool is mounted).
    flange: str
    #: The movable joints, root first: the robot's axes.
    joints: tuple[JointSpec, ...]
    #: Every link name of the URDF (for messages).
    links: tuple[str, ...]
    #: Every movable joint of the URDF by name, on the chain or not (fingers).
    all_joints: dict[str, str]
    #: The joint whose child is the flange (its pybullet index is the flange's link index);
    #: None when the flange is the root link.
    flange_joint: str | None
    # Per axis: the fixed transform from the previous axis frame (or the root) to this
    # joint's frame; then the fixed transform from the last axis to the flange.
    _fixed: list[np.ndarray] = field(repr=False, default_factory=list)
    _tail: np.ndarray = field(repr=False, default_factory=lambda: np.eye(4))
    _ik_cache: dict[bytes, IkResult] = field(repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._axes = np.array([j.axis for j in self.joints], dtype=float)
        self._prismatic = np.array([j.prismatic for j in self.joints], dtype=bool)
        # Per axis, the joint's whole transform as A + sin(q) B + (1 - cos(q)) C (Rodrigues:
        # R = I + sin K + (1 - cos) K^2, folded into the fixed transform A before it), or
        # A + q B for a prismatic joint: three constant matrices, so FK costs one scalar
        # blend and one product per joint instead of building rotations every call.
        self._terms: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []
        for joint, fixed in zip(self.joints, self._fixed, strict=True):
            x, y, z = joint.axis
            if joint.prismatic:
                e = np.zeros((4, 4))
                e[:3, 3] = joint.axis
                self._terms.append((fixed, fixed @ e, np.zeros((4, 4)), True))
                continue
            k = np.zeros((4, 4))
            k[:3, :3] = [[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]]
            self._terms.append((fixed, fixed @ k, fixed @ k @ k, False))
        self._A = np.array([t[0] for t in self._terms])
        self._B = np.array([t[1] for t in self._terms])
        self._C = np.array([t[2] for t in self._terms])

    @property
    def dof(self) -> int:
        return len(self.joints)

    @property
    def lower(self) -> np.ndarray:
        return np.array([j.lower for j in self.joints])

    @property
    def upper(self) -> np.ndarray:
        return np.array([j.upper for j in self.joints])

    def frames(self, q: np.ndarray, base: np.ndarray | None = None) -> list[np.ndarray]:
        """World transforms of every axis frame (before its motion), then of the flange."""
        t = np.eye(4) if base is None else base
        out = []
        sin, cos = math.sin, math.cos
        for (a, b, c, prismatic), value in zip(self._terms, q.tolist(), strict=True):
            out.append(t @ a)
            t = t @ (a + value * b if prismatic else a + sin(value) * b + (1.0 - cos(value)) * c)
        out.append(t @ self._tail)
        return out

    def fk(self, q: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """The flange's 4x4 transform for joint values ``q`` (relative to ``base``).

        Every joint's transform is blended in three array operations for the whole chain,
        then multiplied out: FK runs several times a tick, and for matrices this small the
        number of numpy calls is the cost.
        """
        prismatic = self._prismatic
        sin = np.where(prismatic, q, np.sin(q))
        cos = np.where(prismatic, 0.0, 1.0 - np.cos(q))
        blended = self._A + sin[:, None, None] * self._B + cos[:, None, None] * self._C
        t = np.eye(4) if base is None else base
        for m in blended:
            t = t @ m
        return t @ self._tail

    def jacobian(
        self, q: np.ndarray, tip: np.ndarray, base: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(6 x dof geometric Jacobian of the point ``tip`` rigidly fixed to the flange, tip pose).

        ``tip`` is the tip's transform in the flange frame (the TCP offset).
        """
        frames = self.frames(q, base)
        end = frames[-1] @ tip
        p = end[:3, 3]
        stack = np.array(frames[:-1])  # dof x 4 x 4
        axes = np.einsum("nij,nj->ni", stack[:, :3, :3], self._axes)
        jac = np.zeros((6, self.dof))
        revolute = ~self._prismatic
        # One vectorised cross product for every revolute axis: per-joint np.cross calls
        # cost more than the rest of the Jacobian together.
        jac[:3, revolute] = np.cross(axes[revolute], p - stack[revolute, :3, 3]).T
        jac[3:, revolute] = axes[revolute].T
        jac[:3, self._prismatic] = axes[self._prismatic].T
        return jac, end

    def ik(
        self,
        target: np.ndarray,
        seeds: list[np.ndarray],
        *,
        tip: np.ndarray | None = None,
        lower: np.ndarray | None = None,
        upper: np.ndarray | None = None,
        position_tol: float = 1e-4,
        orientation_tol: float = 1e-3,
        iterations: int = 150,
    ) -> IkResult:
        """Joint values putting ``tip`` (flange frame) on ``target`` (chain-root frame).

        Damped least squares from each seed in turn; the first converged solution wins,
        else the best one found is returned with ``ok`` False. Results are cached per
        (target, seeds, tip, limits): a model's teach points are solved once per process
        even though every plant run instantiates the robot again.
        """
        tip = np.eye(4) if tip is None else tip
        lower = self.lower if lower is None else lower
        upper = self.upper if upper is None else upper
        key = b"".join(
            np.ascontiguousarray(a, dtype=float).tobytes()
            for a in (target, tip, lower, upper, *seeds)
        ) + bytes([len(seeds), iterations])
        cached = self._ik_cache.get(key)
        if cached is not None:
            return cached
        best: IkResult | None = None
        for seed in seeds:
            result = self._dls(
                target, seed, tip, lower, upper, iterations, position_tol, orientation_tol
            )
            if result.ok or best is None or _score(result) < _score(best):
                best = result
            if result.ok:
                break
            if best.position_error < position_tol and best.orientation_error < orientation_tol:
                break
        assert best is not None
        ok = best.position_error < position_tol and best.orientation_error < orientation_tol
        best = IkResult(best.q, best.position_error, best.orientation_error, ok)
        if len(self._ik_cache) > 4096:  # a long-running serve with computed targets
            self._ik_cache.clear()
        self._ik_cache[key] = best
        return best

    def _dls(
        self,
        target: np.ndarray,
        seed: np.ndarray,
        tip: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        iterations: int,
        position_tol: float,
        orientation_tol: float,
    ) -> IkResult:
        q = np.clip(np.array(seed, dtype=float), lower, upper)
        damping = 0.01
        error_norm = math.inf
        e_p = e_r = np.zeros(3)
        stalled = 0
        current = False  # e_p and e_r belong to q (no step taken since they were computed)
        eye6 = np.eye(6)
        for _ in range(iterations):
            jac, end = self.jacobian(q, tip)
            e_p = target[:3, 3] - end[:3, 3]
            e_r = rotation_error(target[:3, :3], end[:3, :3])
            current = True
            error = np.concatenate([e_p, e_r])
            norm = float(np.linalg.norm(error))
            # Ten times inside the tolerance is done; so is an error that stopped falling
            # (a joint held at its limit, or a pose the arm cannot reach).
            if (
                float(np.linalg.norm(e_p)) < position_tol / 10
                and float(np.linalg.norm(e_r)) < orientation_tol / 10
            ):
                break
            stalled = stalled + 1 if norm > 0.995 * error_norm else 0
            if stalled >= 8:
                break
            current = False
            # Adapt the damping (Levenberg-Marquardt): bolder while the error falls, more
            # careful when it grows (near singularities and limits).
            damping = max(1e-5, damping * 0.5) if norm < error_norm else min(1.0, damping * 4)
            error_norm = norm
            jjt = jac @ jac.T + (damping**2) * eye6
            step = jac.T @ np.linalg.solve(jjt, error)
            # A joint on its limit that the step pushes further cannot help: solve again
            # without it, so the others take over (clamping alone converges very slowly).
            blocked = ((q <= lower) & (step < 0)) | ((q >= upper) & (step > 0))
            if blocked.any():
                jac[:, blocked] = 0.0
                jjt = jac @ jac.T + (damping**2) * eye6
                step = jac.T @ np.linalg.solve(jjt, error)
            largest = float(np.max(np.abs(step))) if step.size else 0.0
            if largest > 0.5:  # at most ~30 degrees (or 0.5 m) per iteration
                step *= 0.5 / largest
            q = np.clip(q + step, lower, upper)
        if not current:
            end = self.fk(q) @ tip
            e_p = target[:3, 3] - end[:3, 3]
            e_r = rotation_error(target[:3, :3], end[:3, :3])
        return IkResult(q, float(np.linalg.norm(e_p)), float(np.linalg.norm(e_r)), False)


def _score(result: IkResult) -> float:
    return result.position_error + 0.1 * result.orientation_error


def _floats(text: str | None, default: tuple[float, ...], what: str) -> tuple[float, ...]:
    if text is None:
        return default
    try:
        values = tuple(float(v) for v in text.split())
    except ValueError:
        raise UrdfError(f"{what}: {text!r} is not a list of numbers") from None
    if len(values) != len(default):
        raise UrdfError(f"{what}: expected {len(default)} numbers, got {len(values)}")
    return values


def _origin(element: ElementTree.Element, what: str) -> np.ndarray:
    origin = element.find("origin")
    if origin is None:
        return np.eye(4)
    xyz = _floats(origin.get("xyz"), (0.0, 0.0, 0.0), f"{what} origin xyz")
    rpy = _floats(origin.get("rpy"), (0.0, 0.0, 0.0), f"{what} origin rpy")
    return pose_matrix(np.array(xyz), rpy_matrix(*rpy))


@functools.lru_cache(maxsize=32)
def _load_chain_cached(path: str, flange: str | None, mtime_ns: int) -> Chain:
    try:
        tree = ElementTree.parse(path)
    except ElementTree.ParseError as exc:
        raise UrdfError(f"{os.path.basename(path)} is not valid XML: {exc}") from None
    except OSError as exc:
        raise UrdfError(f"cannot read {path}: {exc.strerror or exc}") from None
    robot = tree.getroot()
    if robot.tag != "robot":
        raise UrdfError(f"{os.path.basename(path)}: the root element is <{robot.tag}>, not <robot>")
    links = tuple(link.get("name", "") for link in robot.findall("link"))
    if not links:
        raise UrdfError(f"{os.path.basename(path)} declares no links")
    _check_meshes(robot, os.path.dirname(path))
    children: dict[str, list[ElementTree.Element]] = {name: [] for name in links}
    child_links = set()
    all_joints = {}
    for joint in robot.findall("joint"):
        name = joint.get("name", "?")
        kind = joint.get("type", "")
        parent = joint.find("parent")
        child = joint.find("child")
        if parent is None or child is None:
            raise UrdfError(f"joint {name!r} needs <parent> and <child>")
        parent_name, child_name = parent.get("link", ""), child.get("link", "")
        for link in (parent_name, child_name):
            if link not in children:
                raise UrdfError(f"joint {name!r} names an undeclared link {link!r}")
        if kind not in (*MOVABLE, "fixed"):
            raise UrdfError(
                f"joint {name!r} has type {kind!r}: only revolute, continuous, "
                "prismatic and fixed joints are supported"
            )
        if kind in MOVABLE:
            all_joints[name] = kind
        children[parent_name].append(joint)
        child_links.add(child_name)
    roots = [link for link in links if link not in child_links]
    if len(roots) != 1:
        raise UrdfError(f"expected one root link, found {len(roots)}: {roots}")
    root = roots[0]
    # Path root -> flange: follow the only child joint while there is one; at a branch
    # (a hand with two fingers) or a leaf, that link is the flange unless one is named.
    by_child = {j.find("child").get("link"): j for js in children.values() for j in js}  # type: ignore[union-attr]
    if flange is None:
        link = root
        while len(children[link]) == 1:
            link = children[link][0].find("child").get("link")  # type: ignore[union-attr]
        flange = link
    elif flange not in children:
        raise UrdfError(f"flange link {flange!r} is not in the URDF (links: {', '.join(links)})")
    path_joints = []
    link = flange
    while link != root:
        joint = by_child[link]
        path_joints.append(joint)
        link = joint.find("parent").get("link")  # type: ignore[union-attr]
    path_joints.reverse()
    specs = []
    fixed = []
    pending = np.eye(4)
    for joint in path_joints:
        name = joint.get("name", "?")
        pending = pending @ _origin(joint, f"joint {name!r}")
        kind = joint.get("type", "")
        if kind == "fixed":
            continue
        axis = np.array(
            _floats(
                joint.find("axis").get("xyz") if joint.find("axis") is not None else None,
                (1.0, 0.0, 0.0),
                f"joint {name!r} axis",
            )
        )
        norm = float(np.linalg.norm(axis))
        if norm == 0:
            raise UrdfError(f"joint {name!r} has a zero axis")
        axis = axis / norm
        limit = joint.find("limit")
        lower, upper, velocity = -math.inf, math.inf, math.inf
        if limit is not None:
            try:
                velocity = float(limit.get("velocity", "inf"))
                if kind != "continuous":
                    lower = float(limit.get("lower", "0"))
                    upper = float(limit.get("upper", "0"))
            except ValueError:
                raise UrdfError(f"joint {name!r}: <limit> values must be numbers") from None
        elif kind != "continuous":
            raise UrdfError(f"joint {name!r} ({kind}) has no <limit>")
        if lower > upper:
            raise UrdfError(f"joint {name!r}: lower limit {lower} > upper limit {upper}")
        specs.append(
            JointSpec(
                name,
                kind,
                (axis[0], axis[1], axis[2]),
                lower,
                upper,
                velocity if velocity > 0 else math.inf,
                joint.find("child").get("link", ""),
            )  # type: ignore[union-attr]
        )
        fixed.append(pending)
        pending = np.eye(4)
    if not specs:
        raise UrdfError(f"no movable joint between the root {root!r} and the flange {flange!r}")
    flange_joint = by_child[flange].get("name") if flange != root else None
    return Chain(path, root, flange, tuple(specs), links, all_joints, flange_joint, fixed, pending)


def _check_meshes(robot: ElementTree.Element, folder: str) -> None:
    """Every mesh file a link names exists (pybullet would refuse the whole file at build)."""
    for link in robot.findall("link"):
        for mesh in link.iter("mesh"):
            filename = mesh.get("filename", "")
            if not filename or "://" in filename:  # package:// URIs resolve elsewhere
                continue
            if not os.path.isfile(os.path.join(folder, filename)):
                raise UrdfError(
                    f"link {link.get('name')!r}: mesh {filename!r} not found (relative to {folder})"
                )


def load_chain(path: str, flange: str | None = None) -> Chain:
    """Parse the URDF at ``path``: the chain from its root link to ``flange``.

    ``flange`` None: the end of the unbranched chain from the root (the last link before a
    branch such as a hand's two fingers, or the last link). Parsed once per file version.

    Raises:
        UrdfError: the file is missing, not XML, or has no serial chain of movable joints.
    """
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise UrdfError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _load_chain_cached(os.path.abspath(path), flange, mtime)


def matrix_quaternion(r: np.ndarray) -> tuple[float, float, float, float]:
    """Quaternion (x, y, z, w) of a 3x3 rotation matrix (pybullet's order)."""
    m = r
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        k = 2.0 * math.sqrt(trace + 1.0)
        w, x = 0.25 * k, (m[2, 1] - m[1, 2]) / k
        y, z = (m[0, 2] - m[2, 0]) / k, (m[1, 0] - m[0, 1]) / k
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        k = 2.0 * math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        w, x = (m[2, 1] - m[1, 2]) / k, 0.25 * k
        y, z = (m[0, 1] + m[1, 0]) / k, (m[0, 2] + m[2, 0]) / k
    elif m[1, 1] > m[2, 2]:
        k = 2.0 * math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        w, x = (m[0, 2] - m[2, 0]) / k, (m[0, 1] + m[1, 0]) / k
        y, z = 0.25 * k, (m[1, 2] + m[2, 1]) / k
    else:
        k = 2.0 * math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        w, x = (m[1, 0] - m[0, 1]) / k, (m[0, 2] + m[2, 0]) / k
        y, z = (m[1, 2] + m[2, 1]) / k, 0.25 * k
    return (float(x), float(y), float(z), float(w))


def slerp_matrix(r0: np.ndarray, r1: np.ndarray, f: float) -> np.ndarray:
    """Rotation a fraction ``f`` of the way from ``r0`` to ``r1`` (about one fixed axis)."""
    v = rotation_error(r1, r0) * f
    angle = float(np.linalg.norm(v))
    if angle < 1e-12:
        return r0.copy()
    return _axis_rotation(v / angle, angle) @ r0
