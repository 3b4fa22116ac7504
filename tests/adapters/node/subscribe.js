// Subscribe to one tag and print each notification; exit 0 once it reports the expected value.
// Usage: node subscribe.js ENDPOINT NODE_ID EXPECTED_JSON TIMEOUT_MS
"use strict";
const { AttributeIds, TimestampsToReturn } = require("node-opcua");
const { connect, emit, run } = require("./common");

run(async ([endpoint, nodeIdText, expectedJson, timeoutMs]) => {
  const expected = JSON.parse(expectedJson);
  const { session, resolve, close } = await connect(endpoint);
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: 20,
    requestedLifetimeCount: 600,
    requestedMaxKeepAliveCount: 50,
    maxNotificationsPerPublish: 1000,
    publishingEnabled: true,
    priority: 10,
  });
  let seen;
  const done = new Promise((resolveDone) => {
    seen = resolveDone;
  });
  const item = await subscription.monitor(
    { nodeId: resolve(nodeIdText), attributeId: AttributeIds.Value },
    { samplingInterval: 0, discardOldest: true, queueSize: 100 },
    TimestampsToReturn.Both,
  );
  item.on("changed", (dataValue) => {
    const value = dataValue.value.value;
    emit({ value, status: dataValue.statusCode.name });
    if (value === expected) seen(true);
  });
  emit({ subscribed: true });
  const timer = setTimeout(() => seen(false), Number(timeoutMs));
  const ok = await done;
  clearTimeout(timer);
  await subscription.terminate();
  await close();
  if (!ok) throw new Error(`no notification with value ${expectedJson} in ${timeoutMs} ms`);
});
