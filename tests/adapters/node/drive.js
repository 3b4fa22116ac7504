// Drive a served line as an HMI or soft PLC would: write PLC outputs, then wait for a sensor.
// Usage: node drive.js ENDPOINT MODEL TIMEOUT_MS
// Writes conveyor_run and infeed_enable TRUE, subscribes to pe_entry and exits 0 once it is TRUE.
"use strict";
const { AttributeIds, DataType, TimestampsToReturn } = require("node-opcua");
const { connect, emit, run } = require("./common");

run(async ([endpoint, model, timeoutMs]) => {
  const { session, resolve, close } = await connect(endpoint);
  const tag = (name) => resolve(`nsu=urn:vcommission:${model};s=${name}`);
  const statuses = await session.write(
    ["conveyor_run", "infeed_enable"].map((name) => ({
      nodeId: tag(name),
      attributeId: AttributeIds.Value,
      value: { value: { dataType: DataType.Boolean, value: true } },
    })),
  );
  emit({ written: statuses.map((status) => status.name) });
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: 20,
    requestedLifetimeCount: 600,
    requestedMaxKeepAliveCount: 50,
    publishingEnabled: true,
  });
  const item = await subscription.monitor(
    { nodeId: tag("pe_entry"), attributeId: AttributeIds.Value },
    { samplingInterval: 0, discardOldest: true, queueSize: 100 },
    TimestampsToReturn.Both,
  );
  const seen = await new Promise((resolveSeen) => {
    const timer = setTimeout(() => resolveSeen(false), Number(timeoutMs));
    item.on("changed", (dataValue) => {
      emit({ pe_entry: dataValue.value.value });
      if (dataValue.value.value === true) {
        clearTimeout(timer);
        resolveSeen(true);
      }
    });
  });
  await subscription.terminate();
  await close();
  if (!seen) throw new Error(`pe_entry not TRUE within ${timeoutMs} ms`);
});
