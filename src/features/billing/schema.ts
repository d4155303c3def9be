import * as z from "zod";
import { sku, tier, userId } from "../ledger/schema";

/** `GET /billing/link?tier=…&user_id=…`. */
export const billingQuery = z.object({ tier, user_id: userId.optional() });

/** `GET /store/link?sku=…&user_id=…`. */
export const storeQuery = z.object({ sku, user_id: userId.optional() });
