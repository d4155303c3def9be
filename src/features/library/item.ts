import { requirementOf } from "./access";

/** An item as `GET /library` and the upload answer show it. */
export type LibraryItem = {
  key: string;
  title: string;
  size: number;
  content_type: string;
  uploaded_at: string;
  sku: string | null;
  tier: string | null;
};

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
