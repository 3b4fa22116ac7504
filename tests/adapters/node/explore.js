// Browse the model's folders, read and write tags; prints one JSON report.
// Usage: node explore.js ENDPOINT MODEL_NAMESPACE_URI MODEL_NAME
"use strict";
const { AttributeIds, BrowseDirection, DataType, NodeClass } = require("node-opcua");
const { connect, emit, run } = require("./common");

async function children(session, nodeId, referenceTypeId = "HierarchicalReferences") {
  const result = await session.browse({
    nodeId,
    browseDirection: BrowseDirection.Forward,
    referenceTypeId,
    includeSubtypes: true,
    nodeClassMask: 0,
    resultMask: 63,
  });
  return result.references.map((r) => ({
    name: r.browseName.name,
    ns: r.browseName.namespaceIndex,
    nodeId: r.nodeId.toString(),
    nodeClass: NodeClass[r.nodeClass],
  }));
}

async function write(session, nodeId, dataType, value) {
  try {
    const status = await session.write({
      nodeId,
      attributeId: AttributeIds.Value,
      value: { value: { dataType, value } },
    });
    return status.name;
  } catch (error) {
    // A service fault (the whole request refused) arrives as an exception.
    return `fault: ${error.message}`;
  }
}

run(async ([endpoint, uri, model]) => {
  const { session, resolve, close, namespaces } = await connect(endpoint);
  const ns = namespaces.indexOf(uri);
  const top = (await children(session, "i=85")).find((c) => c.name === model && c.ns === ns);
  const tree = {};
  for (const folder of await children(session, top.nodeId)) {
    tree[folder.name] = (await children(session, folder.nodeId)).map((c) => [c.name, c.nodeId]);
  }
  const reads = {};
  for (const tag of ["pe_entry", "stop_pb_nc", "speed_sp", "infeed.count", "pusher.position"]) {
    const nodeId = resolve(`nsu=${uri};s=${tag}`);
    const [value, dataType, description, access] = await session.read([
      { nodeId, attributeId: AttributeIds.Value },
      { nodeId, attributeId: AttributeIds.DataType },
      { nodeId, attributeId: AttributeIds.Description },
      { nodeId, attributeId: AttributeIds.AccessLevel },
    ]);
    reads[tag] = {
      value: value.value.value,
      dataType: DataType[dataType.value.value.value],
      description: description.value.value.text,
      writable: (access.value.value & 2) === 2,
    };
  }
  const properties = {};
  for (const property of await children(session, resolve(`nsu=${uri};s=speed_sp`), "HasProperty")) {
    const value = (await session.read({ nodeId: property.nodeId, attributeId: AttributeIds.Value }))
      .value.value;
    properties[property.name] =
      property.name === "EngineeringUnits"
        ? { unitId: value.unitId, displayName: value.displayName.text }
        : { low: value.low, high: value.high };
  }
  const node = (tag) => resolve(`nsu=${uri};s=${tag}`);
  const writes = {
    conveyor_run: await write(session, node("conveyor_run"), DataType.Boolean, true),
    speed_sp: await write(session, node("speed_sp"), DataType.Int16, 650),
    speed_sp_out_of_range: await write(session, node("speed_sp"), DataType.Int16, 5000),
    pe_entry: await write(session, node("pe_entry"), DataType.Boolean, true),
    "start_pb.pressed": await write(session, node("start_pb.pressed"), DataType.Boolean, true),
  };
  emit({ tree, reads, properties, writes });
  await close();
});
