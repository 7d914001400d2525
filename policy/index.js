// @ts-check
// Plain JavaScript (types from JSDoc, checked by `npm run typecheck`): the engine starts a TypeScript pack
// through a type-checking compiler on every preview, a JavaScript one directly.
const { PolicyPack } = require("@pulumi/policy");
const { policies } = require("./rules");

new PolicyPack("olympus-guardrails", { policies });
