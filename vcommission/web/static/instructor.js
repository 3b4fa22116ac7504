// The instructor page: pause, speed, reset, faults (scenario YAML), timeline, scoring.
import { connect, element, mountView, showAlarms, TagTable } from "./hmi.js";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token") || "";
// The 3D view costs the instructor's machine a WebGL canvas: shown when asked (?view=1).
const wantView = new URLSearchParams(location.search).get("view") === "1";
const view = wantView ? await mountView($("view"), $("view-note")) : { scene() {}, apply() {} };
if (!wantView) {
  $("view").hidden = true;
  const show = element("button", { id: "show-view" }, "Show the 3D view");
  show.addEventListener("click", () => {
    const url = new URL(location.href);
    url.searchParams.set("view", "1");
    location.replace(url);
  });
  $("view-note").replaceChildren(show);
}
const table = new TagTable($("tags"));
let catalogue = { fault_kinds: [], components: [], tags: [] };

// A starting text per fault kind: the keys it needs, as a scenario's `fault:` step writes them.
const EXAMPLES = {
  tag: "tag: ", value: "value: true", period: "period: 0.2", factor: "factor: 0.5",
  position: "position: [3.92, 0.0, 0.8]", delay: "delay: 0.2",
};

function template(kind) {
  const entry = catalogue.fault_kinds.find((k) => k.kind === kind);
  const lines = [`kind: ${kind}`];
  for (const need of entry ? entry.needs : []) lines.push(EXAMPLES[need] || `${need}: `);
  if (["actuator_slow", "belt_slip", "part_dropped"].includes(kind)) lines.push("component: ");
  lines.push("# optional: id: NAME, for: SECONDS");
  return lines.join("\n");
}

function fillForm() {
  $("fault-kind").replaceChildren(...catalogue.fault_kinds.map((k) => element("option", { value: k.kind }, k.kind)));
  $("fault-target").replaceChildren(element("option", { value: "" }, "tag or component..."),
    ...catalogue.components.map((c) => element("option", { value: `component: ${c}` }, `component ${c}`)),
    ...catalogue.tags.map((t) => element("option", { value: `tag: ${t}` }, `tag ${t}`)));
  $("fault-yaml").value = template($("fault-kind").value);
}

$("fault-kind").addEventListener("change", () => { $("fault-yaml").value = template($("fault-kind").value); });
$("fault-target").addEventListener("change", () => {
  const choice = $("fault-target").value;
  if (!choice) return;
  const key = choice.split(":")[0];
  const lines = $("fault-yaml").value.split("\n").filter((line) => !line.startsWith(`${key}:`));
  lines.splice(1, 0, choice);
  $("fault-yaml").value = lines.join("\n");
});

const hmi = connect(`/ws/instructor?token=${encodeURIComponent(token)}`, {
  scene: (message) => view.scene(message.scene),
  poses: (message) => view.apply(message),
  hello: (message) => {
    $("title").textContent = `instructor: ${message.model}${message.exercise ? " - " + message.exercise : ""}`;
    catalogue = message.instructor;
    fillForm();
    table.build(message.tags);
    document.body.dataset.ready = "1";
  },
  tags: (message) => table.update(message.values),
  alarms: (message) => showAlarms($("alarms"), message.alarms),
  control: (message) => { $("holder").textContent = message.holder ? `panel: ${message.holder}` : "panel free"; },
  status: (message) => {
    $("status").textContent = `t = ${message.t.toFixed(1)} s  ${message.paused ? "PAUSED" : "running"}  ${message.speed ? message.speed + "x" : ""}  ${message.clients} page(s)${message.finished ? "  scored" : ""}`;
  },
  timeline: (message) => {
    // The newest on top; a greeting brings everything, later messages only what is new.
    const rows = message.entries.map((entry) => element("tr", {},
      element("td", {}, entry.t.toFixed(2)), element("td", { class: `who-${entry.who}` }, entry.who),
      element("td", {}, entry.what, entry.hidden ? element("span", { class: "hidden-mark" }, "  (hidden)") : "")));
    if (message.all) $("timeline").replaceChildren();
    $("timeline").prepend(...rows.reverse());
    while ($("timeline").rows.length > 2000) $("timeline").deleteRow(-1);
  },
  faults: (message) => {
    $("faults").replaceChildren(...(message.active.length ? message.active.map((fault) => {
      const clear = element("button", { "data-clear": fault.name }, "clear");
      clear.addEventListener("click", () => hmi.send({ type: "clear", name: fault.name }));
      return element("li", { "data-fault": fault.name }, `${fault.name}: ${fault.what}${fault.hidden ? " (hidden)" : ""} `, clear);
    }) : [element("li", { class: "none" }, "none")]));
  },
  ok: (message) => {
    $("error").textContent = "";
    if (message.result) {
      const verdicts = message.result.checks.map((c) => `${c.verdict}: ${c.name}`).join("\n");
      $("result").textContent = `${message.result.verdict}${message.file ? " - written to " + message.file : ""}\n${verdicts}`;
      $("result").style.whiteSpace = "pre-wrap";
    }
  },
  error: (message) => { $("error").textContent = message.message; },
  closed: () => { $("status").textContent = "disconnected"; },
});

$("pause").addEventListener("click", () => hmi.send({ type: "pause" }));
$("resume").addEventListener("click", () => hmi.send({ type: "resume" }));
$("set-speed").addEventListener("click", () => hmi.send({ type: "speed", speed: Number($("speed").value) }));
$("reset").addEventListener("click", () => hmi.send({ type: "reset" }));
$("finish").addEventListener("click", () => hmi.send({ type: "finish" }));
$("inject").addEventListener("click", () => hmi.send({ type: "inject", fault: $("fault-yaml").value, hidden: $("fault-hidden").checked }));
window.vcommission = { hmi, table };
