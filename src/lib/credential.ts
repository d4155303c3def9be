import { bearerToken } from "./request";
import { looksLikeJwt } from "./user-jwt";

/**
 * What a chat client presents, told apart without checking it (that comes later, where it is cheapest): a
 * relay key (`smr_…`), a user JWT (only with CHAT_USER_JWT=true), or anything else, which is checked as
 * RELAY_SECRET. The secret travels as `X-Relay-Secret` or `Authorization: Bearer`.
 */
export type ChatCredential =
  | { kind: "key"; secret: string }
  | { kind: "user"; token: string }
  | { kind: "relay-secret"; secret: string | undefined };

export function chatCredential(headers: Headers, userJwt: boolean): ChatCredential {
  const secret = headers.get("X-Relay-Secret") || bearerToken(headers.get("Authorization"));
  if (secret?.startsWith("smr_")) return { kind: "key", secret };
  if (userJwt && secret !== undefined && looksLikeJwt(secret)) return { kind: "user", token: secret };
  return { kind: "relay-secret", secret };
}
