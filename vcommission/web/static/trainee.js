// The trainee page: the 3D view, the operator panel, alarms and the tag table.
import { connect, element, mountView, showAlarms, shown, TagTable } from "./hmi.js";

const $ = (id) => document.getElementById(id);
const view = await mountView($("view"), $("view-note"));
const table = new TagTable($("tags"));
const widgets = new Map();   // tag -> {button, control}
const lamps = new Map();     // tag -> lamp element
const displays = new Map();  // tag -> display element
const beams = new Map();     // tag -> {item, button}
let mine = false;
let hmi = null;

function press(tag, value) { hmi.send({ type: "press", tag, value }); }

function label(control) { return control.component.replace(/_pb$/, "").replace(/_/g, " "); }

function controlWidget(control) {
  const item = element("div", { class: "control-item" });
  let button;
  if (control.style === "button") {
    button = element("button", { class: `push ${control.contact === "NC" ? "nc" : "no"}`, "data-tag": control.tag }, label(control));
    const down = (event) => { event.preventDefault(); if (!button.disabled) { button.classList.add("active"); press(control.tag, true); } };
    const up = () => { if (button.classList.contains("active")) { button.classList.remove("active"); press(control.tag, false); } };
    button.addEventListener("pointerdown", down);
    button.addEventListener("pointerup", up);
    button.addEventListener("pointerleave", up);
    button.addEventListener("keydown", (e) => { if (e.key === " " || e.key === "Enter") down(e); });
    button.addEventListener("keyup", up);
    item.append(button, element("label", {}, control.component));
  } else if (control.style === "estop") {
    button = element("button", { class: "estop", "data-tag": control.tag }, "STOP");
    button.addEventListener("click", () => press(control.tag, true));
    const release = element("button", { "data-release": control.tag }, "release");
    release.addEventListener("click", () => press(control.tag, false));
    item.append(button, release, element("label", {}, `${control.component} (latching)`));
    widgets.set(control.tag + "#release", { button: release, control });
  } else {
    const words = { door: ["open door", "close door"], selector: ["manual", "auto"], curtain: ["step in", "step out"] }[control.style] || ["on", "off"];
    button = element("button", { class: "toggle", "data-tag": control.tag }, words[0]);
    button.addEventListener("click", () => press(control.tag, !(table.values.get(control.tag) === true)));
    button.words = words;
    item.append(button, element("label", {}, `${control.component} ${control.port}`));
  }
  widgets.set(control.tag, { button, control });
  return item;
}

function buildPanel(panel) {
  $("controls").replaceChildren(...panel.controls.map(controlWidget));
  $("lamps").replaceChildren(...panel.lamps.map((lamp) => {
    const node = element("div", { class: `lamp ${lamp.name}`, "data-tag": lamp.tag }, element("span", { class: "bulb" }), `${lamp.component} ${lamp.name}`);
    lamps.set(lamp.tag, node);
    return node;
  }));
  $("displays").replaceChildren(...panel.displays.map((display) => {
    const value = element("span", { class: "display", "data-tag": display.tag }, "-");
    displays.set(display.tag, value);
    return element("div", {}, element("div", {}, `${display.component} ${display.port}`), value, ` ${display.unit}`);
  }));
  $("beams").replaceChildren(...panel.beams.map((beam) => {
    const button = element("button", { "data-beam": beam.component, hidden: true }, "take box off");
    button.addEventListener("click", () => hmi.send({ type: "take_off", beam: beam.component }));
    const item = element("span", { class: "beam", "data-tag": beam.tag }, `${beam.component} `, button);
    beams.set(beam.tag, { item, button });
    return item;
  }));
}

function refresh(name, value) {
  const widget = widgets.get(name);
  if (widget) {
    const { button, control } = widget;
    if (control.style !== "button") button.classList.toggle("active", value === true);
    if (button.words) button.textContent = value === true ? button.words[1] : button.words[0];
  }
  const lamp = lamps.get(name);
  if (lamp) lamp.classList.toggle("on", value === true);
  const display = displays.get(name);
  if (display) display.textContent = shown(value);
  const beam = beams.get(name);
  if (beam) { beam.item.classList.toggle("blocked", value === true); beam.button.hidden = value !== true; }
}

function setControl(message) {
  mine = message.you;
  $("holder").textContent = message.you ? "you hold the panel" : message.holder ? `panel held by ${message.holder} (read only)` : "panel free";
  $("take-control").hidden = message.you;
  for (const { button } of widgets.values()) button.disabled = !message.you && message.holder !== null;
  for (const { button } of beams.values()) button.disabled = !message.you && message.holder !== null;
}

hmi = connect("/ws", {
  scene: (message) => view.scene(message.scene),
  poses: (message) => view.apply(message),
  hello: (message) => {
    $("title").textContent = `${message.model}${message.exercise ? " - " + message.exercise : ""}`;
    buildPanel(message.panel);
    table.build(message.tags);
    for (const tag of message.tags) refresh(tag.name, tag.value);
    document.body.dataset.ready = "1";
  },
  tags: (message) => {
    table.update(message.values);
    for (const [name, value] of Object.entries(message.values)) refresh(name, value);
  },
  alarms: (message) => showAlarms($("alarms"), message.alarms),
  control: setControl,
  status: (message) => {
    $("status").textContent = `t = ${message.t.toFixed(1)} s${message.paused ? "  PAUSED" : ""}  ${message.speed ? message.speed + "x" : ""}${message.finished ? "  exercise over" : ""}`;
  },
  error: (message) => { $("error").textContent = message.message; },
  ok: () => { $("error").textContent = ""; },
  closed: () => { $("status").textContent = "disconnected"; },
});
$("take-control").addEventListener("click", () => hmi.send({ type: "take_control" }));
window.vcommission = { hmi, table, get mine() { return mine; } };
