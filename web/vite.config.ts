import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies the API of an `erp up` on 127.0.0.1:8080; `npm run build` writes
// dist/, which `erp up` serves itself.
const api = "http://127.0.0.1:8080";
export default defineConfig({
  plugins: [react()],
  server: {
    host: "127.0.0.1",
    proxy: {
      "/api": api,
      "/auth": api,
      "/graphql/ws": { target: api.replace("http", "ws"), ws: true },
      "/graphql": api,
    },
  },
});
