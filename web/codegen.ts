// Typed GraphQL documents from the SDL files the Rust tests keep current
// (query-api/schema.graphql, notifier/schema.graphql), generated into src/gql by
// graphql-codegen's client preset: every `graphql(...)` document in src/ gets its result and
// variables types, fragments are masked (a component reads only the fields its own fragment
// asks for). Never edit src/gql by hand. The REST types come apart, from the OpenAPI
// document (see package.json `codegen`).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  overwrite: true,
  schema: ["../query-api/schema.graphql", "../notifier/schema.graphql"],
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: true,
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: "string", NaiveDate: "string" },
      },
      presetConfig: { fragmentMasking: { unmaskFunctionName: "useFragment" } },
    },
  },
};
export default config;
