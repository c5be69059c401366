// TypeScript types of both GraphQL schemas, generated from the SDL files the Rust tests keep
// current (query-api/schema.graphql, notifier/schema.graphql). Never edit src/gql by hand.
const config = {
  overwrite: true,
  schema: ["../query-api/schema.graphql", "../notifier/schema.graphql"],
  generates: {
    "src/gql/schema.ts": {
      plugins: ["typescript"],
      config: { enumsAsTypes: true, scalars: { DateTime: "string", JSON: "unknown" } },
    },
  },
};
export default config;
