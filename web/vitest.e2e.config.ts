import { defineConfig } from "vitest/config";

// End-to-end: a real `erp up` and headless Chromium (Debian's), driven by playwright-core.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // Live checks wait on projections and pushes; one second (the default) is too short on a
    // loaded two-core machine.
    expect: { poll: { timeout: 10_000 } },
  },
});
