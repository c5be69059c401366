// The document screen offers exactly the actions the query API lists for the viewer.
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { Actions, ActionsFragment } from "../src/pages/document/Actions";
import { makeFragmentData } from "../src/gql";
import type { ApprovalAction } from "../src/gql/graphql";
import { LineFragment } from "../src/format";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const session = { token: "t0k", employeeId: "me", name: "나" };

function doc(viewerActions: ApprovalAction[], proxyActions: { delegationId: string; principal: { name: string }; actions: ApprovalAction[] }[] = []) {
  return makeFragmentData(
    {
      documentId: "d1",
      version: 3,
      title: "문서",
      viewerActions,
      proxyActions,
      body: [],
      line: makeFragmentData({ steps: [], ccIds: [], receiverIds: [] }, LineFragment),
      attachments: [{ id: "a1", name: "견적서.pdf", contentType: "application/pdf", sha256: "ab".repeat(32) }],
    },
    ActionsFragment,
  );
}

const buttons = () => screen.queryAllByRole("button").map((b) => b.getAttribute("data-testid"));

describe("Actions", () => {
  it("shows a button per action the viewer may take, and none for the others", () => {
    render(<Actions doc={doc(["APPROVE", "REJECT", "HOLD", "COMMENT"])} session={session} onDone={() => {}} />);
    expect(buttons()).toEqual(["action-approve", "action-reject", "action-hold", "action-comment"]);
  });

  it("shows nothing when the viewer may do nothing", () => {
    render(<Actions doc={doc([])} session={session} onDone={() => {}} />);
    expect(buttons()).toEqual([]);
    expect(screen.queryByRole("textbox")).toBeNull();
  });

  it("offers 대결 for each seat the viewer may approve in as proxy, and sends the delegation", async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify({ id: "d1", version: 4, position: "approval:0:9" })));
    vi.stubGlobal("fetch", fetch);
    const onDone = vi.fn();
    render(
      <Actions
        doc={doc([], [{ delegationId: "g1", principal: { name: "정팀장" }, actions: ["APPROVE", "REJECT", "HOLD"] }])}
        session={session}
        onDone={onDone}
      />,
    );
    expect(buttons()).toEqual(["action-proxy"]);
    fireEvent.click(screen.getByTestId("action-proxy"));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(fetch).toHaveBeenCalledWith(
      "/api/approvals/d1/approve",
      expect.objectContaining({ method: "POST", body: JSON.stringify({ comment: null, delegation: "g1" }) }),
    );
  });

  it("resubmits (재상신) with the document's attachments, named by the same hashes", async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => new Response(JSON.stringify({ id: "d1", version: 4 })));
    vi.stubGlobal("fetch", fetch);
    const onDone = vi.fn();
    render(<Actions doc={doc(["RESUBMIT"])} session={session} onDone={onDone} />);
    fireEvent.click(screen.getByTestId("action-resubmit"));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("/api/approvals/d1/resubmit");
    const sent = JSON.parse(String(init?.body)) as { attachments: unknown };
    expect(sent.attachments).toEqual([{ id: "a1", name: "견적서.pdf", content_type: "application/pdf", sha256: "ab".repeat(32) }]);
  });
});
