import type { LibraryItem } from "../../admin-api";
import { requirementOf } from "./access";

/** The public view of an R2 object: what it is and what reading it requires, never its storage details. */
export function itemOf(object: R2Object): LibraryItem {
  const requirement = requirementOf(object.customMetadata);
  return {
    key: object.key,
    title: object.customMetadata?.title ?? object.key.slice(object.key.lastIndexOf("/") + 1),
    size: object.size,
    content_type: object.httpMetadata?.contentType ?? "application/octet-stream",
    uploaded_at: object.uploaded.toISOString(),
    sku: requirement.sku,
    tier: requirement.tier,
  };
}
