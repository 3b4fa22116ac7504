// Shared helpers of the node-opcua peer scripts: connect, resolve vcommission node ids, print.
"use strict";
const {
  AttributeIds,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
} = require("node-opcua");

// Print one JSON object per line: the Python test reads stdout line by line.
function emit(object) {
  process.stdout.write(JSON.stringify(object) + "\n");
}

async function connect(endpoint) {
  const client = OPCUAClient.create({
    applicationName: "vcommission-test-peer",
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    // Fail fast: the server is local and the test bounds its wait anyway.
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    requestedSessionTimeout: 30000,
  });
  await client.connect(endpoint);
  const session = await client.createSession();
  const namespaces = (
    await session.read({ nodeId: "ns=0;i=2255", attributeId: AttributeIds.Value })
  ).value.value;
  // vcommission's node ids name the namespace by URI ("nsu=urn:...;s=tag"); a request
  // needs its index in the server's NamespaceArray.
  function resolve(nodeId) {
    const match = /^nsu=([^;]+);s=(.*)$/.exec(nodeId);
    if (!match) return nodeId;
    const index = namespaces.indexOf(match[1]);
    if (index < 0) throw new Error(`namespace ${match[1]} not in ${namespaces}`);
    return `ns=${index};s=${match[2]}`;
  }
  async function close() {
    await session.close();
    await client.disconnect();
  }
  return { client, session, namespaces, resolve, close };
}

// Run main(argv), print an error line and exit 1 on failure; exit 0 otherwise.
function run(main) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error) => {
      emit({ error: String(error && error.stack ? error.stack : error) });
      process.exit(1);
    },
  );
}

module.exports = { connect, emit, run };
