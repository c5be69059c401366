// The app as people use it: a real `erp up` (the binary, serving the built SPA) and headless
// Chromium driven by playwright-core. Two browser contexts are two people.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, homedir } from "node:os";
import { join, resolve } from "node:path";
import { startIssuer, type Issuer } from "./issuer";

const KANG = "00000000-0000-7000-8000-000000000106"; // 강개발, 플랫폼팀 (drafter)
const LEAD = "00000000-0000-7000-8000-000000000105"; // 정팀장, his lead
const DEV_HEAD = "00000000-0000-7000-8000-000000000104"; // 최개발, head of 개발본부 (second step)
const YOON = "00000000-0000-7000-8000-000000000107"; // 윤개발, 플랫폼팀: 정팀장's proxy
const OH = "00000000-0000-7000-8000-000000000109";
const HR = "00000000-0000-7000-8000-000000000102"; // 이인사, HR admin // 오영업, sales: no business with their documents
const LIM = "00000000-0000-7000-8000-00000000010b"; // 임재무, 재무팀 사원
const SHOTS = resolve("e2e-artifacts");

let server: ChildProcess;
let bin = "";
let dataDir = "";
let issuer: Issuer;
let base = "";
let browser: Browser;

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  bin = process.env.ERP_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/erp-target"), "debug/erp");
  dataDir = mkdtempSync(join(tmpdir(), "erp-e2e-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // The company's identity provider, as far as this server can tell: signs in 강개발.
  issuer = await startIssuer({ clientId: "erp-web", email: "kang@demo.erp" });
  server = spawn(bin, ["up", "--port", String(port), "--data-dir", dataDir], {
    env: { ...process.env, ERP_WEB_DIR: resolve("dist"), ERP_LOG: "warn", ERP_OIDC_ISSUER: issuer.url, ERP_OIDC_CLIENT_ID: "erp-web" },
    stdio: "inherit",
  });
  for (let i = 0; i < 300; i++) {
    try {
      const lags = (await (await fetch(`${base}/api/projections`)).json()) as { events_behind: number }[];
      const users = (await (await fetch(`${base}/auth/dev-users`)).json()) as unknown[];
      if (users.length > 0 && lags.every((l) => l.events_behind === 0)) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  server?.kill();
  await issuer?.close();
});

async function loggedIn(who: string, options: { bypassCSP?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  // `bypassCSP` only to inject the axe-core checker: the app's own CSP forbids inline scripts.
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, bypassCSP: options.bypassCSP ?? false });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByTestId(`login-${who}`).click();
  await page.getByTestId("who").waitFor();
  return { context, page };
}

async function compose(page: Page, title: string, options: { keepLine?: boolean } = {}): Promise<string> {
  if (!options.keepLine) await page.getByTestId("nav-compose").click();
  await page.getByTestId("title").fill(title);
  await page.getByTestId("field-content").fill("브라우저에서 작성한 본문");
  await page.getByTestId("suggested-line").getByText("정팀장").waitFor();
  await page.screenshot({ path: join(SHOTS, "compose.png") });
  await page.getByTestId("submit").click();
  await page.getByTestId("document").waitFor();
  await expect.poll(() => page.getByTestId("status").textContent()).toBe("진행");
  return new URL(page.url()).hash.replace("#/doc/", "");
}

describe("전자결재 in a browser", () => {
  it("a document travels its line: each approver is told live, and the drafter sees the result", async () => {
    const drafter = await loggedIn(KANG);
    const id = await compose(drafter.page, "E2E 결재 요청");
    await drafter.page.screenshot({ path: join(SHOTS, "document.png") });
    await drafter.page.goto(`${base}/#/inbox/IN_PROGRESS`);

    const lead = await loggedIn(LEAD);
    const head = await loggedIn(DEV_HEAD);
    await lead.page.getByTestId("box-PENDING").click();
    await lead.page.getByText("E2E 결재 요청").waitFor();
    await lead.page.screenshot({ path: join(SHOTS, "inbox.png") });
    await lead.page.getByText("E2E 결재 요청").click();
    // The document says which 전결 규정 row it was submitted under and who holds 전결권.
    await expect.poll(() => lead.page.getByTestId("authority-rule").textContent()).toContain("전결 규정");
    await lead.page.getByTestId("action-approve").click();
    await expect.poll(() => lead.page.getByTestId("timeline").textContent(), { timeout: 10_000 }).toContain("승인");

    // The next approver's open page is told without a reload, and the toast leads to the document.
    const request = head.page.getByTestId("toasts").getByText("E2E 결재 요청");
    await request.waitFor({ timeout: 15_000 });
    await request.click();
    await head.page.getByTestId("action-approve").click();
    await expect.poll(() => head.page.getByTestId("status").textContent(), { timeout: 10_000 }).toBe("완료");

    // The drafter's open page gets the result pushed.
    const toast = drafter.page.getByTestId("toasts").getByText("E2E 결재 요청");
    await toast.waitFor({ timeout: 15_000 });
    await drafter.page.screenshot({ path: join(SHOTS, "toast.png") });
    await drafter.page.goto(`${base}/#/doc/${id}`);
    await expect.poll(() => drafter.page.getByTestId("status").textContent()).toBe("완료");
    for (const c of [drafter, lead, head]) await c.context.close();
  });

  it("the 결재란 fills on the drafter's open page as each approver decides; the approved document prints to PDF and verifies against the log", async () => {
    const drafter = await loggedIn(KANG);
    const id = await compose(drafter.page, "E2E 결재란");
    const seats = drafter.page.getByTestId("grid-결재").getByTestId("seat");
    const states = () => seats.evaluateAll((els) => els.map((e) => e.getAttribute("data-state")));
    await expect.poll(states).toEqual(["drafted", "current", "waiting"]);
    expect(await drafter.page.getByTestId("grid-number").textContent()).toBe("—");
    for (const [who, after] of [
      [LEAD, ["drafted", "approved", "current"]],
      [DEV_HEAD, ["drafted", "approved", "approved"]],
    ] as const) {
      const approver = await loggedIn(who);
      await approver.page.goto(`${base}/#/doc/${id}`);
      await approver.page.getByTestId("action-approve").click();
      // Pushed to the drafter's open page: no reload.
      await expect.poll(states, { timeout: 15_000 }).toEqual(after);
      await approver.context.close();
    }
    await expect.poll(() => drafter.page.getByTestId("grid-number").textContent(), { timeout: 15_000 }).not.toBe("—");
    await drafter.page.screenshot({ path: join(SHOTS, "approval-grid.png") });
    // Printed to PDF on the server: its title carries the number (UTF-16BE in the PDF's info).
    const number = (await drafter.page.getByTestId("grid-number").textContent()) ?? "";
    const [pdf] = await Promise.all([drafter.page.waitForEvent("download"), drafter.page.getByTestId("pdf").click()]);
    const { readFileSync } = await import("node:fs");
    const bytes = readFileSync(await pdf.path());
    expect(bytes.subarray(0, 5).toString()).toBe("%PDF-");
    const title = /\/Title <FEFF([0-9A-F]+)>/.exec(bytes.toString("latin1"))?.[1] ?? "";
    expect(Buffer.from(title, "hex").swap16().toString("utf16le")).toContain(number);
    expect(bytes.toString("latin1")).toMatch(/NotoSansCJK|NotoSerifCJK|Nanum/);
    // The printed page names the log's head; `erp verify --document` checks a copy against it.
    const printed = await drafter.page.evaluate(async (doc) => {
      const session = JSON.parse(localStorage.getItem("erp.session") ?? "{}") as { token: string };
      return (await fetch(`/api/approvals/${doc}/print`, { headers: { authorization: `Bearer ${session.token}` } })).text();
    }, id);
    const head = /해시: <code>([0-9a-f]{64})<\/code>/.exec(printed)?.[1] ?? "";
    expect(head).toHaveLength(64);
    const verify = (printedHead: string) =>
      spawnSync(bin, ["verify", "--data-dir", dataDir, "--document", number, "--head", printedHead], { env: { ...process.env, ERP_LOG: "warn" } });
    const same = verify(head);
    expect(same.status, String(same.stdout) + String(same.stderr)).toBe(0);
    expect(String(same.stdout)).toContain("the printed copy's head is the log's");
    expect(verify("0".repeat(64)).status).toBe(1);
    await drafter.page.emulateMedia({ media: "print" });
    await drafter.page.screenshot({ path: join(SHOTS, "print.png"), fullPage: true });
    expect(await drafter.page.getByTestId("print").isVisible()).toBe(false);
    await drafter.context.close();
  });

  it("a drafter attaches a file; the approver downloads the same bytes and an outsider cannot", async () => {
    const drafter = await loggedIn(KANG);
    await drafter.page.getByTestId("nav-compose").click();
    await drafter.page.getByTestId("title").fill("E2E 첨부");
    await drafter.page.getByTestId("field-content").fill("견적서를 첨부합니다");
    const bytes = Buffer.from("견적서: 모니터 2대 — 600,000원\n");
    await drafter.page.getByTestId("attach").setInputFiles({ name: "견적서.txt", mimeType: "text/plain", buffer: bytes });
    await drafter.page.getByTestId("attached").getByText("견적서.txt").waitFor();
    await drafter.page.getByTestId("suggested-line").getByText("정팀장").waitFor();
    await drafter.page.getByTestId("submit").click();
    await drafter.page.getByTestId("document").waitFor();
    await expect.poll(() => drafter.page.getByTestId("status").textContent()).toBe("진행");
    const id = new URL(drafter.page.url()).hash.replace("#/doc/", "");

    const lead = await loggedIn(LEAD);
    await lead.page.goto(`${base}/#/doc/${id}`);
    const [download] = await Promise.all([lead.page.waitForEvent("download"), lead.page.getByTestId("download").click()]);
    expect(download.suggestedFilename()).toBe("견적서.txt");
    const saved = await download.path();
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(saved).equals(bytes)).toBe(true);
    await lead.page.screenshot({ path: join(SHOTS, "attachments.png") });

    // The command API answers an outsider 404 for the file, as for the document.
    const outsider = await loggedIn(OH);
    const token = await outsider.page.evaluate(() => JSON.parse(localStorage.getItem("erp.session") ?? "{}").token as string);
    const attachment = await lead.page.evaluate(async (doc) => {
      const session = JSON.parse(localStorage.getItem("erp.session") ?? "{}") as { token: string };
      const reply = await fetch(`/api/approvals/${doc}`, { headers: { authorization: `Bearer ${session.token}` } });
      return ((await reply.json()) as { content: { attachments: { id: string }[] } }).content.attachments[0].id;
    }, id);
    const refused = await fetch(`${base}/api/approvals/${id}/attachments/${attachment}`, { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(404);
    for (const c of [drafter, lead, outsider]) await c.context.close();
  });

  it("finds a document by a word of its body, saves the search, and downloads the list as CSV", async () => {
    const drafter = await loggedIn(KANG);
    await drafter.page.getByTestId("nav-compose").click();
    await drafter.page.getByTestId("title").fill("E2E 검색 대상");
    await drafter.page.getByTestId("field-content").fill("분기별 빌드서버 예산 검토");
    await drafter.page.getByTestId("suggested-line").getByText("정팀장").waitFor();
    await drafter.page.getByTestId("submit").click();
    await expect.poll(() => drafter.page.getByTestId("status").textContent()).toBe("진행");

    await drafter.page.getByTestId("nav-search").click();
    await drafter.page.getByTestId("search-text").fill("빌드서버 예산");
    await drafter.page.getByTestId("search-status").selectOption("IN_PROGRESS");
    await drafter.page.getByTestId("search-run").click();
    const results = drafter.page.getByTestId("search-results").locator("tbody tr");
    await expect.poll(() => results.count()).toBe(1);
    expect(await results.first().textContent()).toContain("E2E 검색 대상");
    await drafter.page.getByTestId("view-name").fill("빌드서버");
    await drafter.page.getByTestId("view-save").click();
    await drafter.page.screenshot({ path: join(SHOTS, "search.png") });
    const [csv] = await Promise.all([drafter.page.waitForEvent("download"), drafter.page.getByTestId("search-csv").click()]);
    const { readFileSync } = await import("node:fs");
    const text = readFileSync(await csv.path(), "utf8");
    expect(text.split("\r\n")[1]).toContain('"E2E 검색 대상"');

    // The saved search survives a reload and runs again when picked.
    await drafter.page.reload();
    await drafter.page.getByTestId("search-results").waitFor();
    await drafter.page.getByTestId("views").selectOption("빌드서버");
    expect(await drafter.page.getByTestId("search-text").inputValue()).toBe("빌드서버 예산");
    await expect.poll(() => results.count()).toBe(1);
    // Someone who may not see it does not find it.
    const outsider = await loggedIn(OH);
    await outsider.page.goto(`${base}/#/search`);
    await outsider.page.getByTestId("search-text").fill("빌드서버 예산");
    await outsider.page.getByTestId("search-run").click();
    await outsider.page.getByTestId("search-results").waitFor();
    await new Promise((r) => setTimeout(r, 500));
    expect(await outsider.page.getByTestId("search-results").locator("tbody tr").count()).toBe(0);
    await drafter.context.close();
    await outsider.context.close();
  });

  it("the bell counts unread notifications live; one is marked read, then all, and a reload keeps them read", async () => {
    const unreadOf = async (page: Page) => {
      const badge = page.getByTestId("unread-count");
      return (await badge.count()) > 0 ? Number(await badge.textContent()) : 0;
    };
    const lead = await loggedIn(LEAD);
    const before = await unreadOf(lead.page);
    const drafter = await loggedIn(KANG);
    await compose(drafter.page, "E2E 알림 읽음");
    // Told live: the count rises on the open page without a reload.
    await expect.poll(() => unreadOf(lead.page), { timeout: 15_000 }).toBeGreaterThan(before);
    await lead.page.getByTestId("bell").click();
    const entry = lead.page.getByTestId("notification").filter({ hasText: "E2E 알림 읽음" }).first();
    await expect.poll(() => entry.getAttribute("data-read")).toBe("false");
    await lead.page.screenshot({ path: join(SHOTS, "notifications.png") });
    const unread = await unreadOf(lead.page);
    await entry.getByTestId("mark-read").click();
    await expect.poll(() => entry.getAttribute("data-read"), { timeout: 10_000 }).toBe("true");
    await expect.poll(() => unreadOf(lead.page)).toBe(unread - 1);
    if (unread > 1) await lead.page.getByTestId("mark-all-read").click();
    await expect.poll(() => unreadOf(lead.page), { timeout: 10_000 }).toBe(0);
    // Read marks are events in the log, not browser state: a reload shows them read.
    await lead.page.reload();
    await lead.page.getByTestId("who").waitFor();
    expect(await unreadOf(lead.page)).toBe(0);
    await lead.page.getByTestId("bell").click();
    await expect.poll(() => entry.getAttribute("data-read")).toBe("true");
    // By keyboard: Escape closes the panel and the focus is back on the bell.
    await entry.locator("a").focus();
    await lead.page.keyboard.press("Escape");
    await expect.poll(() => lead.page.getByTestId("notification-panel").count()).toBe(0);
    expect(await lead.page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("bell");
    await drafter.context.close();
    await lead.context.close();
  });

  it("a rejected document shows the reason, its past states, and goes out again as a new revision", async () => {
    const drafter = await loggedIn(KANG);
    const id = await compose(drafter.page, "E2E 반려될 문서");
    const lead = await loggedIn(LEAD);
    await lead.page.goto(`${base}/#/doc/${id}`);
    await lead.page.getByLabel("사유").fill("예산 근거 보완");
    await lead.page.getByTestId("action-reject").click();
    await expect.poll(() => lead.page.getByTestId("status").textContent(), { timeout: 10_000 }).toBe("반려");
    await drafter.page.goto(`${base}/#/doc/${id}`);
    await drafter.page.reload();
    await expect.poll(() => drafter.page.getByTestId("timeline").textContent()).toContain("예산 근거 보완");
    // The "as of" slider at its first moment shows the draft.
    await drafter.page.getByLabel("시점 보기").fill("0");
    await expect.poll(() => drafter.page.getByTestId("status").textContent()).toBe("임시저장");
    // 재상신: the same document goes out again as its second revision.
    await drafter.page.reload();
    await drafter.page.getByTestId("action-resubmit").click();
    await expect.poll(() => drafter.page.getByTestId("status").textContent(), { timeout: 10_000 }).toBe("진행");
    await expect.poll(() => drafter.page.getByTestId("revision").textContent()).toContain("2");
    await drafter.context.close();
    await lead.context.close();
  });

  it("a proxy approves in the absent approver's seat (대결), and the timeline says so", async () => {
    // 정팀장 names 윤개발 his proxy until tomorrow, on the 조직·휴가 screen.
    const lead = await loggedIn(LEAD);
    await lead.page.goto(`${base}/#/admin`);
    await lead.page.getByTestId("proxy-select").selectOption(YOON);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await lead.page.getByTestId("proxy-until").fill(tomorrow);
    await lead.page.getByTestId("proxy-save").click();
    await lead.page.getByText("처리되었습니다").waitFor();
    await lead.page.screenshot({ path: join(SHOTS, "admin.png") });
    // 윤개발 sees that he acts for 정팀장, and stays on the page.
    const proxy = await loggedIn(YOON);
    await expect
      .poll(async () => {
        await proxy.page.goto(`${base}/#/admin`);
        await proxy.page.reload();
        return proxy.page.getByText("대결 중").count();
      })
      .toBe(1);
    const drafter = await loggedIn(KANG);
    const id = await compose(drafter.page, "E2E 대결 문서");
    // The request to 정팀장 reaches his proxy live, marked as such.
    const request = proxy.page.getByTestId("toasts").getByText("E2E 대결 문서");
    await request.waitFor({ timeout: 15_000 });
    expect(await request.textContent()).toContain("(대결)");
    await request.click();
    await expect.poll(() => new URL(proxy.page.url()).hash).toBe(`#/doc/${id}`);
    await proxy.page.getByTestId("action-proxy").click();
    await expect.poll(() => proxy.page.getByTestId("timeline").textContent(), { timeout: 10_000 }).toContain("대결");
    await proxy.page.screenshot({ path: join(SHOTS, "proxy.png") });
    for (const c of [lead, drafter, proxy]) await c.context.close();
  });

  it("a document that is not yours cannot be opened by URL", async () => {
    const drafter = await loggedIn(KANG);
    // The drafter edits the suggested line: 윤개발 in cc (still not 오영업's business).
    await drafter.page.getByTestId("nav-compose").click();
    await drafter.page.getByTestId("suggested-line").getByText("정팀장").waitFor();
    await drafter.page.getByTestId("line-pick").selectOption(YOON);
    await drafter.page.getByTestId("cc-add").click();
    await drafter.page.getByTestId("cc").getByText("윤개발").waitFor();
    const id = await compose(drafter.page, "E2E 영업팀 비공개", { keepLine: true });
    await drafter.page.getByText("참조: 윤개발").waitFor();
    const outsider = await loggedIn(OH);
    await outsider.page.goto(`${base}/#/doc/${id}`);
    await outsider.page.getByTestId("not-found").waitFor();
    expect(await outsider.page.getByText("E2E 영업팀 비공개").count()).toBe(0);
    await drafter.context.close();
    await outsider.context.close();
  });

  it("HR registers an employee, who then appears in the org chart", async () => {
    const hr = await loggedIn(HR);
    await hr.page.goto(`${base}/#/admin`);
    await hr.page.getByTestId("hr-name").fill("신입사원");
    await hr.page.getByTestId("hr-email").fill("newbie@demo.erp");
    await hr.page.getByTestId("hr-department").selectOption({ label: "플랫폼팀" });
    await hr.page.getByTestId("hr-title").fill("사원");
    await hr.page.getByTestId("hr-register").click();
    await expect.poll(() => hr.page.getByTestId("hr-message").textContent()).toBe("처리되었습니다");
    // The org chart reads the projection: give it the same bound as the other live checks
    // (expect.poll's own default is one second, too short on a loaded machine).
    await expect
      .poll(
        async () => {
          await hr.page.reload();
          return hr.page.getByText("신입사원 (사원)").count();
        },
        { timeout: 10_000 },
      )
      .toBe(1);
    await hr.page.screenshot({ path: join(SHOTS, "hr.png") });
    await hr.context.close();
  });

  it("an employee checks in and out on the server's clock; the month and the team lead's page show the day", async () => {
    const { page, context } = await loggedIn(YOON);
    await page.getByTestId("nav-attendance").click();
    await page.getByTestId("check-in").click();
    await expect.poll(() => page.getByTestId("attendance-state").getAttribute("data-state")).toBe("working");
    // The stamp is the server's: within a minute of this machine's clock, shown in KST.
    const shown = (await page.getByTestId("attendance-in").textContent()) ?? "";
    const kst = (offsetMs: number) => new Date(Date.now() + 9 * 3600_000 + offsetMs).toISOString().slice(11, 16);
    expect([kst(-60_000), kst(0), kst(60_000)].some((hm) => shown.includes(hm))).toBe(true);
    await page.getByTestId("check-out").click();
    await expect.poll(() => page.getByTestId("attendance-state").getAttribute("data-state")).toBe("done");
    const today = new Date(Date.now() + 9 * 3600_000).toISOString().slice(0, 10);
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByTestId("attendance-month").textContent();
        },
        { timeout: 10_000 },
      )
      .toContain(today);
    await expect.poll(() => page.getByTestId("weekly-hours").getAttribute("data-state")).toBe("WITHIN");
    // The month so far, summed: today's check-in counts as a day present.
    await expect.poll(() => page.getByTestId("attendance-report").textContent()).toContain("윤개발");
    await page.getByText("팀 휴가 달력").waitFor();
    await page.screenshot({ path: join(SHOTS, "attendance.png") });

    const lead = await loggedIn(LEAD);
    await lead.page.goto(`${base}/#/attendance`);
    await expect.poll(() => lead.page.getByTestId("team-attendance").textContent()).toContain("윤개발");
    await lead.context.close();
    await context.close();
  });

  it("a head's attendance page shows a report's check-in as it happens, and the report's own page too", async () => {
    const lead = await loggedIn(LEAD);
    await lead.page.goto(`${base}/#/attendance`);
    const team = lead.page.getByTestId("team-attendance");
    await team.waitFor();
    expect(await team.textContent()).not.toContain("강개발");
    const kang = await loggedIn(KANG);
    await kang.page.getByTestId("nav-attendance").click();
    await kang.page.getByTestId("check-in").click();
    // No reload: the notifier's hrChanged tells the head's page to read the team again.
    await expect.poll(() => team.textContent(), { timeout: 10_000 }).toContain("강개발");
    await kang.page.getByTestId("check-out").click();
    await expect.poll(() => kang.page.getByTestId("attendance-state").getAttribute("data-state")).toBe("done");
    await lead.context.close();
    await kang.context.close();
  });

  it("a lead posts a quest; his report takes it on and submits it; the lead verifies it and the report's leave rises", async () => {
    const title = `E2E 퀘스트 ${Date.now()}`;
    const lead = await loggedIn(LEAD);
    await lead.page.getByTestId("nav-quests").click();
    await lead.page.getByTestId("quest-title").fill(title);
    await lead.page.getByTestId("quest-amount").fill("8");
    await lead.page.getByTestId("quest-post-submit").click();
    await expect.poll(() => lead.page.getByTestId("posted-quests").textContent(), { timeout: 10_000 }).toContain(title);

    const kang = await loggedIn(KANG);
    await kang.page.getByTestId("nav-quests").click();
    const available = async () => Number(await kang.page.getByTestId("quest-leave-available").getAttribute("data-available"));
    await kang.page.getByTestId("quest-leave-available").waitFor();
    const before = await available();
    const open = kang.page.getByTestId("open-quests").locator(`[data-title="${title}"]`);
    await open.getByTestId("quest-accept").click();
    const mine = kang.page.getByTestId("my-quests").locator(`[data-title="${title}"]`);
    await expect.poll(() => mine.getAttribute("data-status"), { timeout: 10_000 }).toBe("accepted");
    await mine.getByTestId("quest-submit").click();
    await expect.poll(() => mine.getAttribute("data-status"), { timeout: 10_000 }).toBe("submitted");

    // The lead's page follows live (no reload): the submission shows, and he is told of it.
    const posted = lead.page.getByTestId("posted-quests").locator(`[data-title="${title}"]`);
    await expect
      .poll(() => posted.getByTestId("quest-participant").getAttribute("data-status"), { timeout: 10_000 })
      .toBe("submitted");
    await expect.poll(() => lead.page.getByTestId("toasts").textContent(), { timeout: 10_000 }).toContain("퀘스트 완료 제출");
    await posted.getByTestId("quest-verify").click();
    await expect.poll(() => posted.getByTestId("quest-participant").getAttribute("data-status"), { timeout: 10_000 }).toBe("verified");
    await expect.poll(() => kang.page.getByTestId("toasts").textContent(), { timeout: 10_000 }).toContain("퀘스트 승인");

    // The reward (8 hours: one day) reaches the ledger through the reactor, then the read model.
    await expect
      .poll(
        async () => {
          await kang.page.reload();
          return available();
        },
        { timeout: 15_000 },
      )
      .toBe(before + 1);
    await expect.poll(() => kang.page.getByTestId("quest-leaderboard").textContent()).toContain("강개발");
    await kang.page.screenshot({ path: join(SHOTS, "quests.png") });
    await lead.context.close();
    await kang.context.close();
  });

  it("every screen, in both languages and in dark mode, passes the axe-core accessibility checks with no serious violation", async () => {
    const { createRequire } = await import("node:module");
    const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
    const lead = await loggedIn(LEAD, { bypassCSP: true });
    const drafter = await loggedIn(KANG);
    const id = await compose(drafter.page, "E2E 접근성");
    await drafter.context.close();
    const page = lead.page;
    const screens: [string, string, () => Promise<void>][] = [
      ["inbox", "#/inbox/PENDING", () => page.getByTestId("box-PENDING").waitFor()],
      ["document", `#/doc/${id}`, () => page.getByTestId("approval-grid").waitFor()],
      ["compose", "#/compose", () => page.getByTestId("suggested-line").waitFor()],
      ["search", "#/search", () => page.getByTestId("search-results").waitFor()],
      ["attendance", "#/attendance", () => page.getByTestId("attendance-report").waitFor()],
      ["quests", "#/quests", () => page.locator("h1").first().waitFor()],
      ["admin", "#/admin", () => page.locator("h1, h2").first().waitFor()],
    ];
    const serious: string[] = [];
    for (const [lang, scheme] of [["ko", "light"], ["en", "light"], ["en", "dark"]] as const) {
      if (lang === "en" && scheme === "light") await page.getByRole("button", { name: "English" }).click();
      await page.emulateMedia({ colorScheme: scheme });
      for (const [name, hash, ready] of screens) {
        await page.goto(`${base}/${hash}`);
        await ready();
        await page.waitForTimeout(300);
        if (name === "inbox") await page.getByTestId("bell").click();
        await page.addScriptTag({ path: axePath });
        const found = await page.evaluate(async () => {
          const axe = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
          const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
          return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
        });
        for (const v of found.filter((v) => v.impact === "serious" || v.impact === "critical")) {
          serious.push(`${lang} ${scheme} ${name}: ${v.id} (${v.impact}) at ${v.targets.join(", ")}`);
        }
        await page.screenshot({ path: join(SHOTS, `screen-${name}-${lang}${scheme === "dark" ? "-dark" : ""}.png`), fullPage: true });
      }
    }
    await lead.context.close();
    expect(serious).toEqual([]);
  });

  it("signs in through the company's identity provider (OpenID Connect, code with PKCE) as the employee its token names", async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    const before = issuer.redeemed();
    await page.getByTestId("oidc-login").click();
    await expect.poll(() => page.getByTestId("who").textContent(), { timeout: 15_000 }).toBe("강개발");
    expect(issuer.redeemed()).toBe(before + 1);
    // The token left the address bar; the session is the app's own and reads the inbox.
    expect(page.url()).not.toContain("token=");
    await page.getByTestId("box-PENDING").waitFor();
    // A replayed or planted callback (no state cookie of this browser) signs nobody in.
    const replay = await fetch(`${base}/auth/oidc/callback?code=x&state=used-or-forged`, { redirect: "manual" });
    expect(replay.status).toBe(401);
    // A link carrying someone else's session is not taken by a tab that did not ask for it.
    const victim = await browser.newContext();
    const tab = await victim.newPage();
    const token = await page.evaluate(() => JSON.parse(localStorage.getItem("erp.session") ?? "{}").token as string);
    await tab.goto(`${base}/#/signed-in?token=${token}&id=x&name=%EC%A0%95%ED%8C%80%EC%9E%A5&app=planted-value-0123456789`);
    await tab.getByTestId(`login-${KANG}`).waitFor();
    expect(await tab.getByTestId("who").count()).toBe(0);
    await victim.close();
    await context.close();
  });

  it("switches to English", async () => {
    const { page, context } = await loggedIn(KANG);
    await page.getByRole("button", { name: "English" }).click();
    await page.getByTestId("box-PENDING").getByText("Pending").waitFor();
    await page.setViewportSize({ width: 390, height: 800 });
    await page.screenshot({ path: join(SHOTS, "inbox-phone-en.png") });
    await context.close();
  });

  it("HR transfers and promotes an employee, and a deactivated leaver can no longer log in", async () => {
    const hr = await loggedIn(HR);
    await hr.page.goto(`${base}/#/admin`);
    // 임재무 moves from 재무팀 to 영업팀, then becomes 대리 (rank 3).
    await hr.page.getByTestId("people-pick").selectOption(LIM);
    await expect.poll(() => hr.page.getByTestId("people-department").textContent()).toBe("재무팀");
    await hr.page.getByTestId("people-transfer-department").selectOption({ label: "영업팀" });
    await hr.page.getByTestId("people-transfer").click();
    await expect.poll(() => hr.page.getByTestId("people-department").textContent(), { timeout: 10_000 }).toBe("영업팀");
    await hr.page.getByTestId("people-position-title").fill("대리");
    await hr.page.getByTestId("people-position-rank").fill("3");
    await hr.page.getByTestId("people-position-save").click();
    await expect.poll(() => hr.page.getByTestId("people-title").textContent(), { timeout: 10_000 }).toContain("대리");
    expect(await hr.page.getByTestId("people-message").textContent()).toBe("처리되었습니다");
    // The org chart (active employees by department) shows the move and the new title.
    await expect.poll(() => hr.page.getByTestId("org-SALES").textContent(), { timeout: 10_000 }).toContain("임재무 (대리)");
    expect(await hr.page.getByTestId("org-FIN").textContent()).not.toContain("임재무");
    await hr.page.screenshot({ path: join(SHOTS, "hr-people.png") });

    // A leaver is registered (with a hire date), shows on the dev-login list, is deactivated, and is gone from it.
    const name = `퇴사예정${Date.now() % 100_000}`;
    await hr.page.getByTestId("hr-name").fill(name);
    await hr.page.getByTestId("hr-email").fill(`leaver.${Date.now()}@demo.erp`);
    await hr.page.getByTestId("hr-department").selectOption({ label: "영업팀" });
    await hr.page.getByTestId("hr-title").fill("사원");
    await hr.page.getByTestId("hr-hire-date").fill("2024-03-04");
    await hr.page.getByTestId("hr-register").click();
    await expect.poll(() => hr.page.getByTestId("hr-message").textContent()).toBe("처리되었습니다");
    const option = hr.page.getByTestId("people-pick").locator("option", { hasText: name });
    await expect.poll(() => option.count(), { timeout: 10_000 }).toBe(1);
    const leaver = (await option.getAttribute("value")) ?? "";
    const loginList = await browser.newContext();
    const login = await loginList.newPage();
    const listed = async () => {
      await login.goto(`${base}/`);
      await login.getByTestId(`login-${HR}`).waitFor();
      return login.getByTestId(`login-${leaver}`).count();
    };
    await expect.poll(listed, { timeout: 10_000 }).toBe(1);
    await hr.page.getByTestId("people-pick").selectOption(leaver);
    await expect.poll(() => hr.page.getByTestId("people-hire-date-current").textContent(), { timeout: 10_000 }).toBe("2024-03-04");
    await hr.page.getByTestId("people-deactivate").click();
    await hr.page.getByTestId("people-deactivate-confirm").click();
    await expect.poll(() => hr.page.getByTestId("people-summary").getAttribute("data-active"), { timeout: 10_000 }).toBe("false");
    expect(await hr.page.getByTestId("people-status").textContent()).toBe("비활성");
    await expect.poll(listed, { timeout: 10_000 }).toBe(0);
    await loginList.close();
    await hr.context.close();
  });
});
