// vcommission web HMI: what the trainee and instructor pages share (socket, tags, alarms).

/** Open the page's WebSocket; `handlers[type](message)` gets every message. */
export function connect(path, handlers) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${path}`);
  let nextId = 1;
  const api = {
    socket,
    send(message) {
      message.id = nextId++;
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
      return message.id;
    },
  };
  socket.addEventListener("message", (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    const handler = handlers[message.type];
    if (handler) handler(message);
    if (handlers.any) handlers.any(message);
  });
  socket.addEventListener("close", () => handlers.closed && handlers.closed());
  return api;
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

export function shown(value) {
  if (value === true) return "TRUE";
  if (value === false) return "FALSE";
  if (value === null || value === undefined) return "-";
  return typeof value === "number" && !Number.isInteger(value) ? value.toFixed(3) : String(value);
}

/** The read-only tag table: one row per signal, updated by `tags` messages. */
export class TagTable {
  constructor(body) { this.body = body; this.cells = new Map(); this.values = new Map(); }
  build(tags) {
    this.body.replaceChildren();
    this.cells.clear();
    for (const tag of tags) {
      const value = element("td", { class: "value", "data-tag": tag.name });
      this.cells.set(tag.name, value);
      const direction = { from_plant: "in", to_plant: "out", operator: "op", internal: "int" }[tag.direction] || tag.direction;
      this.body.append(element("tr", { title: tag.description || "" },
        element("td", {}, tag.name), element("td", {}, direction), value,
        element("td", {}, tag.unit || "")));
      this.set(tag.name, tag.value);
    }
  }
  set(name, value) {
    this.values.set(name, value);
    const cell = this.cells.get(name);
    if (!cell) return;
    cell.textContent = shown(value);
    cell.classList.toggle("true", value === true);
  }
  update(values) { for (const [name, value] of Object.entries(values)) this.set(name, value); }
}

export function showAlarms(list, alarms) {
  list.replaceChildren();
  if (!alarms.length) { list.append(element("li", { class: "none" }, "no alarms")); return; }
  for (const alarm of alarms) {
    list.append(element("li", { "data-alarm": alarm.id }, `${alarm.since.toFixed(1)} s  ${alarm.text}`));
  }
}

/** Mount the 3D view if its module is there (it is optional: the page works without it). */
export async function mountView(canvas, note) {
  let PlantView = null;
  try {
    ({ PlantView } = await import("./view3d.js"));
  } catch (error) {
    note.textContent = "3D view not available";
    console.warn("3D view not loaded", error);
  }
  let view = null;
  return {
    scene(scene) {
      if (view) { view.dispose(); view = null; }
      if (PlantView && scene) { view = new PlantView(canvas, scene); note.textContent = ""; }
    },
    apply(message) { if (view) view.apply(message); },
  };
}
