/**
 * The four Kratos identity schemas Olympus ships: CIAM `default`, `customer` and `organizational`,
 * and IAM `admin`. Kratos extensions (`ory.sh/kratos`) mark identifiers, verification and recovery.
 */
type JsonSchema = Record<string, unknown>;

const emailTrait = (opts: { login: boolean; verify: boolean }) => ({
  type: "string",
  format: "email",
  title: "E-Mail",
  minLength: 3,
  maxLength: 320,
  "ory.sh/kratos": {
    credentials: opts.login
      ? { password: { identifier: true }, webauthn: { identifier: true }, code: { identifier: true, via: "email" } }
      : undefined,
    verification: opts.verify ? { via: "email" } : undefined,
    recovery: { via: "email" },
  },
});

const nameTrait = (title: string) => ({ type: "string", title, minLength: 1, maxLength: 256 });

const schema = (id: string, title: string, traits: JsonSchema, required: string[]): JsonSchema => ({
  $id: `https://schemas.olympus.local/${id}.schema.json`,
  $schema: "http://json-schema.org/draft-07/schema#",
  title,
  type: "object",
  properties: {
    traits: { type: "object", properties: traits, required, additionalProperties: false },
  },
});

/** JSON.stringify drops the undefined extension keys, which keeps the helpers above simple. */
const toFile = (value: JsonSchema) => `${JSON.stringify(value, null, 2)}\n`;

export const ciamDefaultSchema = schema(
  "default",
  "Customer",
  {
    username: { type: "string", title: "Username", minLength: 3, maxLength: 64, pattern: "^[a-zA-Z0-9._-]+$" },
    email: emailTrait({ login: true, verify: true }),
    first_name: nameTrait("First name"),
    last_name: nameTrait("Last name"),
    phone: { type: "string", title: "Phone", pattern: "^\\+?[0-9 ()-]{5,32}$" },
  },
  ["email"],
);

export const ciamCustomerSchema = schema(
  "customer",
  "Customer account",
  {
    email: emailTrait({ login: true, verify: true }),
    customer_id: { type: "string", title: "Customer ID", pattern: "^CUST-[0-9]+$" },
    first_name: nameTrait("First name"),
    last_name: nameTrait("Last name"),
  },
  ["email", "customer_id", "first_name", "last_name"],
);

export const ciamOrganizationalSchema = schema(
  "organizational",
  "Organizational account",
  {
    email: emailTrait({ login: true, verify: true }),
    organization: { type: "string", title: "Organization", minLength: 1, maxLength: 256 },
    first_name: nameTrait("First name"),
    last_name: nameTrait("Last name"),
  },
  ["email", "organization"],
);

export const iamAdminSchema = schema(
  "admin",
  "Administrator",
  {
    email: emailTrait({ login: true, verify: false }),
    name: {
      type: "object",
      properties: { first: nameTrait("First name"), last: nameTrait("Last name") },
      additionalProperties: false,
    },
    role: { type: "string", enum: ["admin", "viewer"], title: "Role" },
    roles: { type: "array", items: { type: "string", minLength: 1 }, uniqueItems: true, title: "Roles" },
  },
  ["email", "role"],
);

/** File name under each Kratos config directory, and the schema id Kratos knows it by. */
export const identitySchemaFiles = {
  ciam: {
    default: { file: "identity.schema.json", schema: ciamDefaultSchema },
    customer: { file: "customer.schema.json", schema: ciamCustomerSchema },
    organizational: { file: "organizational.schema.json", schema: ciamOrganizationalSchema },
  },
  iam: {
    admin: { file: "admin-identity.schema.json", schema: iamAdminSchema },
  },
} as const;

export function renderIdentitySchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [domain, schemas] of Object.entries(identitySchemaFiles)) {
    for (const { file, schema: value } of Object.values(schemas)) files[`${domain}-kratos/${file}`] = toFile(value);
  }
  return files;
}
