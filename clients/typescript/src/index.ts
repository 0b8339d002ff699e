/**
 * `@cloudgreet/api-client`: the API client (`CloudGreetClient`), its errors and models, and the
 * webhook signature checks (`verifyCloudGreetSignature` for the webhooks CloudGreet sends you,
 * `verifyTelnyxSignature`, `verifyRetellSignature`; these need Node's `crypto`). Browsers can import `@cloudgreet/api-client/core`, which leaves the webhooks out.
 */
export * from "./core.js";
export * from "./webhooks.js";
