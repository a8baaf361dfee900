// How the client's types are generated from openapi.json (used by scripts/openapi.mjs and the test that
// checks the committed types are current). Fields with a default stay optional in requests.
export const CLIENT_TYPES_OPTIONS = { defaultNonNullable: false }
