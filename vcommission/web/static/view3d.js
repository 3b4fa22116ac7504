// The live 3D view of a plant in the browser (three.js, vendored in ./vendor/).
//
// `new PlantView(canvas, scene)` builds the scene a server's `describe()` gave
// (vcommission/plant/scene.py: z up, metres, quaternions x y z w): boxes, cylinders,
// spheres, capsules and meshes (STL or OBJ, fetched from the URL in the shape, once per
// URL), each robot's links at their own frames, every light beam as a thin rod that glows
// red while blocked. `apply(message)` takes the server's WebSocket messages: `scene`
// rebuilds everything, `poses` applies what changed (removed bodies first, then added
// ones, then poses, robot links and beams); any other type is left to the page (returns
// false). Orbit with the left mouse button, pan with the right one, zoom with the wheel.
//
// A frame is rendered on requestAnimationFrame only when something changed (a message,
// the camera, a mesh arriving, a resize): without a GPU, WebGL is drawn by the CPU, which
// the plant's real-time loop shares. `canvas.dataset.frames` counts rendered frames,
// `canvas.dataset.bodies` the bodies in the view, `canvas.dataset.meshesPending`,
// `meshesLoaded` and `meshesFailed` the mesh files, so a test (or a page) can wait for
// them. The drawing buffer is preserved, so `canvas.toDataURL()` gives the last frame.

import * as THREE from './vendor/three.module.min.js';
import { OrbitControls } from './vendor/OrbitControls.js';
import { STLLoader } from './vendor/STLLoader.js';
import { OBJLoader } from './vendor/OBJLoader.js';

const BEAM_RADIUS = 0.004;
const BEAM_CLEAR = new THREE.Color(0.2, 0.75, 0.25);
const BEAM_BLOCKED = new THREE.Color(1.0, 0.08, 0.05);
const FLOOR_COLOUR = 0xeeeeee;
// Camera direction from the scene's centre, as `vcommission render --view iso`.
const ISO = new THREE.Vector3(0.9, -1.4, 1.0).normalize();

function colourOf(rgba) {
  return new THREE.Color().setRGB(rgba[0], rgba[1], rgba[2], THREE.SRGBColorSpace);
}

function setPose(object, pose) {
  object.position.set(pose[0], pose[1], pose[2]);
  object.quaternion.set(pose[3], pose[4], pose[5], pose[6]);
}

// Primitives as pybullet has them: cylinders and capsules along their z axis.
function primitive(shape) {
  const s = shape.size;
  switch (shape.type) {
    case 'box':
      return new THREE.BoxGeometry(s[0], s[1], s[2]);
    case 'cylinder':
      return new THREE.CylinderGeometry(s[0], s[0], s[1], 24).rotateX(Math.PI / 2);
    case 'capsule':
      return new THREE.CapsuleGeometry(s[0], s[1], 4, 16).rotateX(Math.PI / 2);
    case 'sphere':
      return new THREE.SphereGeometry(s[0], 24, 16);
    default:
      return null;
  }
}

export class PlantView {
  constructor(canvas, scene, options = {}) {
    this.canvas = canvas;
    // Prefix for mesh URLs (they are server paths such as /mesh/0.stl).
    this.meshBase = options.meshBase ?? '';
    this.renderer = new THREE.WebGLRenderer({
      canvas,
      antialias: true,
      preserveDrawingBuffer: true,
    });
    this.renderer.setPixelRatio(window.devicePixelRatio || 1);
    this.camera = new THREE.PerspectiveCamera(40, 1, 0.01, 200);
    this.camera.up.set(0, 0, 1); // z up, as the plant model (before the controls read it)
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.addEventListener('change', () => this.invalidate());
    this.three = new THREE.Scene();
    this.three.background = new THREE.Color(0xf7f7f7);
    this.three.add(new THREE.HemisphereLight(0xffffff, 0x8a8a8a, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.6);
    sun.position.set(0.4, -0.6, 1.0);
    this.three.add(sun);
    this.root = new THREE.Group(); // everything the scene dict describes
    this.three.add(this.root);
    this.meshCache = new Map(); // URL -> Promise<BufferGeometry[]>
    this.bodies = new Map(); // id -> {base: Object3D, links: Object3D[], objects: Object3D[]}
    this.beams = new Map(); // name -> Mesh
    this.frames = 0;
    this.meshes = { pending: 0, loaded: 0, failed: 0 };
    this.dirty = true;
    this.disposed = false;
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    this.resize();
    this.load(scene);
    this.tick = () => {
      if (this.disposed) return;
      if (this.dirty) {
        this.dirty = false;
        this.renderer.render(this.three, this.camera);
        this.frames += 1;
        this.canvas.dataset.frames = String(this.frames);
      }
      this.raf = requestAnimationFrame(this.tick);
    };
    this.raf = requestAnimationFrame(this.tick);
  }

  invalidate() {
    this.dirty = true;
  }

  resize() {
    const width = this.canvas.clientWidth || 640;
    const height = this.canvas.clientHeight || 480;
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.invalidate();
  }

  // ---- the static scene --------------------------------------------------------------

  load(scene) {
    this.clear();
    this.scene = scene;
    const [low, high] = scene.bounds;
    const lo = new THREE.Vector3(...low);
    const hi = new THREE.Vector3(...high);
    const centre = lo.clone().add(hi).multiplyScalar(0.5);
    const radius = Math.max(hi.clone().sub(lo).length() / 2, 0.3);
    this.floor(centre, radius);
    for (const body of scene.bodies) this.addBody(body);
    for (const beam of scene.beams) this.addBeam(beam);
    const distance = (radius / Math.tan(THREE.MathUtils.degToRad(this.camera.fov) / 2)) * 0.7;
    this.camera.position.copy(centre).addScaledVector(ISO, distance);
    this.camera.near = distance / 100;
    this.camera.far = distance * 10;
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(centre);
    this.controls.update();
    this.count();
  }

  floor(centre, radius) {
    const size = Math.ceil(radius * 3);
    const plane = new THREE.Mesh(
      new THREE.PlaneGeometry(size * 2, size * 2),
      new THREE.MeshLambertMaterial({ color: FLOOR_COLOUR }),
    );
    plane.position.set(centre.x, centre.y, -0.001);
    this.root.add(plane);
    const grid = new THREE.GridHelper(size * 2, size * 4, 0xc8c8c8, 0xdcdcdc);
    grid.rotateX(Math.PI / 2); // GridHelper lies in x-z; the floor is x-y
    grid.position.set(Math.round(centre.x), Math.round(centre.y), 0.0);
    this.root.add(grid);
  }

  addBody(body) {
    if (this.bodies.has(body.id)) this.removeBody(body.id);
    const base = new THREE.Group();
    base.name = `${body.component}.${body.group}#${body.id}`;
    base.userData = { id: body.id, kind: body.kind, variant: body.variant };
    setPose(base, body.pose);
    const links = (body.links || []).map((pose) => {
      const link = new THREE.Group();
      setPose(link, pose);
      return link;
    });
    // Link frames are world poses, not relative to the base: siblings under the root.
    this.root.add(base, ...links);
    const entry = { base, links };
    this.bodies.set(body.id, entry);
    for (const shape of body.shapes) {
      const parent = shape.link >= 0 ? links[shape.link] : base;
      if (parent) this.addShape(parent, shape);
    }
    this.invalidate();
  }

  addShape(parent, shape) {
    const material = new THREE.MeshStandardMaterial({
      color: colourOf(shape.rgba),
      roughness: 0.75,
      metalness: 0.05,
      transparent: shape.rgba[3] < 1,
      opacity: shape.rgba[3],
      depthWrite: shape.rgba[3] >= 1, // see-through panels must not hide what is behind
      side: shape.rgba[3] < 1 ? THREE.DoubleSide : THREE.FrontSide,
    });
    const holder = new THREE.Group();
    setPose(holder, shape.offset);
    parent.add(holder);
    if (shape.type === 'mesh') {
      holder.scale.set(shape.size[0], shape.size[1], shape.size[2]);
      this.meshes.pending += 1;
      this.geometries(shape.mesh).then(
        (geometries) => {
          for (const geometry of geometries) {
            const mesh = new THREE.Mesh(geometry, material);
            mesh.userData.shared = true; // the cache's: disposed with the view
            holder.add(mesh);
          }
          this.meshes.pending -= 1;
          this.meshes.loaded += 1;
          this.count();
          this.invalidate();
        },
        (error) => {
          console.error(`PlantView: mesh ${shape.mesh}: ${error}`);
          this.meshes.pending -= 1;
          this.meshes.failed += 1;
          this.count();
        },
      );
      return;
    }
    const geometry = primitive(shape);
    if (geometry) holder.add(new THREE.Mesh(geometry, material));
  }

  // One fetch per mesh URL, however many shapes use it.
  geometries(url) {
    let promise = this.meshCache.get(url);
    if (!promise) {
      const full = this.meshBase + url;
      if (url.toLowerCase().endsWith('.obj')) {
        promise = new OBJLoader().loadAsync(full).then((group) => {
          const found = [];
          group.traverse((child) => {
            if (child.isMesh) found.push(child.geometry);
          });
          return found;
        });
      } else {
        promise = new STLLoader().loadAsync(full).then((geometry) => {
          geometry.computeVertexNormals();
          return [geometry];
        });
      }
      this.meshCache.set(url, promise);
    }
    return promise;
  }

  addBeam(beam) {
    const from = new THREE.Vector3(...beam.from);
    const to = new THREE.Vector3(...beam.to);
    const length = from.distanceTo(to);
    const geometry = new THREE.CylinderGeometry(BEAM_RADIUS, BEAM_RADIUS, length, 8);
    const material = new THREE.MeshBasicMaterial({ color: BEAM_CLEAR, transparent: true });
    const rod = new THREE.Mesh(geometry, material);
    rod.position.copy(from).add(to).multiplyScalar(0.5);
    // A cylinder stands along y: turn y onto the beam's direction.
    rod.quaternion.setFromUnitVectors(new THREE.Vector3(0, 1, 0), to.clone().sub(from).normalize());
    rod.name = beam.name;
    this.root.add(rod);
    this.beams.set(beam.name, rod);
    this.setBeam(beam.name, Boolean(beam.blocked));
  }

  setBeam(name, blocked) {
    const rod = this.beams.get(name);
    if (!rod) return;
    rod.material.color.copy(blocked ? BEAM_BLOCKED : BEAM_CLEAR);
    rod.material.opacity = blocked ? 1.0 : 0.45;
    rod.scale.set(blocked ? 2.5 : 1, 1, blocked ? 2.5 : 1); // thicker while blocked
    rod.userData.blocked = blocked;
    this.invalidate();
  }

  // ---- messages ------------------------------------------------------------------------

  apply(message) {
    if (!message || this.disposed) return false;
    if (message.type === 'scene') {
      this.load(message.scene);
      return true;
    }
    if (message.type !== 'poses') return false;
    for (const id of message.removed || []) this.removeBody(id);
    for (const body of message.added || []) this.addBody(body);
    for (const [id, pose] of Object.entries(message.bodies || {})) {
      const entry = this.bodies.get(Number(id));
      if (entry) setPose(entry.base, pose);
    }
    for (const [id, poses] of Object.entries(message.links || {})) {
      const entry = this.bodies.get(Number(id));
      if (!entry) continue;
      poses.forEach((pose, i) => {
        if (entry.links[i]) setPose(entry.links[i], pose);
      });
    }
    for (const [name, blocked] of Object.entries(message.beams || {})) this.setBeam(name, blocked);
    this.count();
    this.invalidate();
    return true;
  }

  removeBody(id) {
    const entry = this.bodies.get(id);
    if (!entry) return;
    for (const object of [entry.base, ...entry.links]) {
      this.root.remove(object);
      disposeTree(object);
    }
    this.bodies.delete(id);
    this.invalidate();
  }

  count() {
    const data = this.canvas.dataset;
    data.bodies = String(this.bodies.size);
    data.meshesPending = String(this.meshes.pending);
    data.meshesLoaded = String(this.meshes.loaded);
    data.meshesFailed = String(this.meshes.failed);
  }

  clear() {
    for (const child of [...this.root.children]) {
      this.root.remove(child);
      disposeTree(child);
    }
    this.bodies.clear();
    this.beams.clear();
    this.invalidate();
  }

  dispose() {
    this.disposed = true;
    cancelAnimationFrame(this.raf);
    this.resizeObserver.disconnect();
    this.controls.dispose();
    this.clear();
    for (const promise of this.meshCache.values()) {
      promise.then((geometries) => geometries.forEach((g) => g.dispose()), () => {});
    }
    this.meshCache.clear();
    this.renderer.dispose();
  }
}

// Geometries and materials of a removed object; mesh geometries are shared through the
// cache (one per URL) and disposed with the view.
function disposeTree(object) {
  object.traverse((child) => {
    if (child.material) child.material.dispose();
    if (child.geometry && !child.userData.shared) child.geometry.dispose();
  });
}
