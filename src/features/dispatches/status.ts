import { NotFound } from "../../errors";
import { validate } from "../../lib/request";
import { requestIdPath } from "./schema";
import { findDispatch } from "./store";

/**
 * A dispatch as its creator sees it: `{request_id, action, repository, status, conclusion?, run_url?, attempts,
 * updated_at}`. Another credential's dispatch is as unknown as one that never existed: 404 either way.
 */
export async function dispatchStatus(db: D1Database, requestId: string, subject: string) {
  const { request_id } = validate(requestIdPath, { request_id: requestId });
  const record = await findDispatch(db, request_id.toLowerCase());
  if (record === null || record.subject !== subject) {
    throw new NotFound(`No dispatch ${request_id} of this credential`, "dispatch_not_found");
  }
  return {
    request_id: record.request_id,
    action: record.action,
    repository: record.repository,
    // `pending`: the first attempt has not been answered yet; to the caller, it waits like a queued one.
    status: record.status === "pending" ? "queued" : record.status,
    ...(record.conclusion === null ? {} : { conclusion: record.conclusion }),
    ...(record.run_url === null ? {} : { run_url: record.run_url }),
    attempts: record.attempts,
    updated_at: record.updated_at,
  };
}
