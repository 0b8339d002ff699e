/**
 * Signature checks for the webhooks CloudGreet sends to a business's endpoints (`client.webhooks`),
 * and for the webhooks Telnyx and Retell send, the same checks the CloudGreet services make
 * (`Shared/Providers/WebhookSignatures.swift`, `Shared/Providers/Retell.swift`).
 * They need Node's `crypto` (Node >= 18).
 *
 * Pass the body exactly as received (the raw bytes, or the string they decode to as UTF-8): a
 * body parsed and serialised again no longer matches its signature.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from "node:crypto";

/** Why a signature was refused: no header, an unreadable one, a timestamp too far from now, or a wrong signature. */
export type WebhookFailure = "missing" | "malformed" | "stale" | "mismatch";

export type WebhookCheck = { valid: true } | { valid: false; reason: WebhookFailure };

/** A header as frameworks hand it over (Node's `req.headers[name]` may be a list: its first value counts). */
export type HeaderValue = string | readonly string[] | null | undefined;

/** The header names of a CloudGreet delivery, lower-case as Node's `req.headers` has them (`Headers.get` ignores case). */
export const CLOUDGREET_SIGNATURE_HEADER = "cloudgreet-signature";
export const CLOUDGREET_EVENT_ID_HEADER = "cloudgreet-event-id";
export const CLOUDGREET_EVENT_TYPE_HEADER = "cloudgreet-event-type";

export interface CloudGreetSignatureParams {
  /** The request body, unparsed. */
  rawBody: string | Uint8Array;
  /**
   * The `CloudGreet-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`;
   * it may carry several `v1` values, one matching is enough.
   */
  signature: HeaderValue;
  /** The endpoint's secret (`whsec_...`), as `webhooks.create` answered it; the HMAC key. */
  secret: string;
  /** How far `t` may be from now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** Now, as a Date or Unix seconds (default: the clock). */
  now?: Date | number;
}

export interface CloudGreetSignParams {
  rawBody: string | Uint8Array;
  secret: string;
  /** When it was signed, as a Date or Unix seconds (default: now). */
  timestamp?: Date | number;
}

export interface TelnyxSignatureParams {
  /** The request body, unparsed. */
  rawBody: string | Uint8Array;
  /** The `telnyx-signature-ed25519` header: base64 Ed25519 signature of `"<timestamp>|<raw body>"`. */
  signature: HeaderValue;
  /** The `telnyx-timestamp` header: Unix seconds. */
  timestamp: HeaderValue;
  /** The account's public key: base64 of the raw 32 bytes (as `TELNYX_PUBLIC_KEY`), or the bytes. */
  publicKey: string | Uint8Array;
  /** How far the timestamp may be from now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** Now, as a Date or Unix seconds (default: the clock). */
  now?: Date | number;
}

export interface RetellSignatureParams {
  /** The request body, unparsed. */
  rawBody: string | Uint8Array;
  /** The `x-retell-signature` header: `v=<unix ms>,d=<hex HMAC-SHA256(apiKey, raw body + "<unix ms>")>`. */
  signature: HeaderValue;
  /** The Retell API key (`RETELL_API_KEY`), the HMAC key. */
  apiKey: string;
  /** How far the timestamp may be from now, in milliseconds (default 300000, five minutes). */
  toleranceMs?: number;
  /** Now, in Unix milliseconds (default: the clock). */
  nowMs?: number;
}

/**
 * Whether a webhook CloudGreet sent to your endpoint is genuine; `checkCloudGreetSignature` says why
 * not. Throws (TypeError) only when `secret` is not a non-empty string.
 */
export function verifyCloudGreetSignature(params: CloudGreetSignatureParams): boolean {
  return checkCloudGreetSignature(params).valid;
}

/** Whether a Telnyx webhook is genuine; `checkTelnyxSignature` says why not. Throws only for a bad `publicKey`. */
export function verifyTelnyxSignature(params: TelnyxSignatureParams): boolean {
  return checkTelnyxSignature(params).valid;
}

/** Whether a Retell webhook is genuine; `checkRetellSignature` says why not. */
export function verifyRetellSignature(params: RetellSignatureParams): boolean {
  return checkRetellSignature(params).valid;
}

export function checkCloudGreetSignature(params: CloudGreetSignatureParams): WebhookCheck {
  const secret = cloudGreetSecret(params.secret, "verifyCloudGreetSignature");
  const signature = single(params.signature);
  if (signature === undefined) return refused("missing");
  let timestamp: string | undefined;
  const digests: string[] = [];
  // As the server reads it: comma-separated `name=value` parts, names and values trimmed, the last
  // `t` wins, every `v1` counts.
  for (const part of swiftSplit(signature, ",")) {
    const pair = swiftSplit(part, "=", 1).map((piece) => piece.replace(HORIZONTAL_SPACE, ""));
    if (pair.length !== 2) continue;
    if (pair[0] === "t") timestamp = pair[1];
    else if (pair[0] === "v1") digests.push(pair[1]);
  }
  if (timestamp === undefined || digests.length === 0) return refused("malformed");
  const seconds = parseSwiftDouble(timestamp);
  if (seconds === undefined) return refused("malformed");
  const now = params.now === undefined ? Date.now() / 1000 : params.now instanceof Date ? params.now.getTime() / 1000 : params.now;
  if (!(Math.abs(now - seconds) <= (params.toleranceSeconds ?? 300))) return refused("stale");
  const expected = utf8(cloudGreetDigest(params.rawBody, secret, timestamp));
  let matched = false;
  for (const digest of digests) {
    // Lower-case hex as signed; every value is compared, in constant time.
    const candidate = utf8(digest);
    matched = (candidate.length === expected.length && timingSafeEqual(candidate, expected)) || matched;
  }
  return matched ? { valid: true } : refused("mismatch");
}

/** The `CloudGreet-Signature` value CloudGreet sends with `rawBody` for an endpoint with this secret (for tests). */
export function signCloudGreet(params: CloudGreetSignParams): string {
  const secret = cloudGreetSecret(params.secret, "signCloudGreet");
  const when = params.timestamp ?? Date.now() / 1000;
  const stamp = String(Math.floor(when instanceof Date ? when.getTime() / 1000 : when));
  return `t=${stamp},v1=${cloudGreetDigest(params.rawBody, secret, stamp)}`;
}

function cloudGreetSecret(secret: unknown, caller: string): string {
  if (typeof secret !== "string" || secret === "") {
    throw new TypeError(`${caller}: secret must be the endpoint's secret (whsec_...), as webhooks.create answered it`);
  }
  return secret;
}

function cloudGreetDigest(rawBody: string | Uint8Array, secret: string, stamp: string): string {
  return encodeHex(createHmac("sha256", utf8(secret)).update(concat(utf8(`${stamp}.`), bytes(rawBody))).digest());
}

export function checkTelnyxSignature(params: TelnyxSignatureParams): WebhookCheck {
  const key = telnyxKey(params.publicKey);
  const signature = single(params.signature);
  const timestamp = single(params.timestamp);
  if (signature === undefined || timestamp === undefined) {
    return refused("missing");
  }
  const seconds = parseSwiftDouble(timestamp);
  const signatureBytes = decodeBase64(signature);
  if (seconds === undefined || signatureBytes === undefined) return refused("malformed");
  const now = params.now === undefined ? Date.now() / 1000 : params.now instanceof Date ? params.now.getTime() / 1000 : params.now;
  if (!(Math.abs(now - seconds) <= (params.toleranceSeconds ?? 300))) return refused("stale");
  const message = concat(utf8(`${timestamp}|`), bytes(params.rawBody));
  let valid = false;
  try {
    valid = verify(null, message, key, signatureBytes);
  } catch {
    valid = false; // a signature of the wrong length
  }
  return valid ? { valid: true } : refused("mismatch");
}

export function checkRetellSignature(params: RetellSignatureParams): WebhookCheck {
  const signature = single(params.signature);
  if (signature === undefined) return refused("missing");
  let timestamp: string | undefined;
  let digest: string | undefined;
  // As the server reads it: comma-separated `name=value` parts, names trimmed, the last one wins.
  for (const part of swiftSplit(signature, ",")) {
    const pair = swiftSplit(part, "=", 1);
    if (pair.length !== 2) continue;
    const name = pair[0].replace(HORIZONTAL_SPACE, "");
    if (name === "v") timestamp = pair[1];
    else if (name === "d") digest = pair[1].toLowerCase();
  }
  if (timestamp === undefined || digest === undefined) return refused("malformed");
  const milliseconds = parseSwiftDouble(timestamp);
  const expected = /^[0-9a-f]{64}$/.test(digest) ? decodeHex(digest) : undefined;
  if (milliseconds === undefined || expected === undefined) return refused("malformed");
  const nowMs = params.nowMs ?? Date.now();
  if (!(Math.abs(nowMs / 1000 - milliseconds / 1000) <= (params.toleranceMs ?? 300_000) / 1000)) return refused("stale");
  const actual = createHmac("sha256", utf8(params.apiKey))
    .update(concat(bytes(params.rawBody), utf8(timestamp)))
    .digest();
  return timingSafeEqual(actual, expected) ? { valid: true } : refused("mismatch");
}

function single(value: HeaderValue): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  return value.length > 0 ? value[0] : undefined;
}

function refused(reason: WebhookFailure): WebhookCheck {
  return { valid: false, reason };
}

// MARK: keys

const keyCache = new Map<string, KeyObject>();

/** The Ed25519 key from its base64 (or raw) 32 bytes; a bad key is a programming error: TypeError. */
function telnyxKey(publicKey: string | Uint8Array): KeyObject {
  const raw = typeof publicKey === "string" ? decodeBase64(publicKey.trim()) : publicKey;
  if (raw === undefined || raw.length !== 32) {
    throw new TypeError("verifyTelnyxSignature: publicKey must be the base64 of a raw 32-byte Ed25519 public key");
  }
  const x = encodeBase64Url(raw);
  let key = keyCache.get(x);
  if (!key) {
    try {
      key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    } catch (cause) {
      throw new TypeError(`verifyTelnyxSignature: publicKey is not an Ed25519 public key (${String(cause)})`);
    }
    if (keyCache.size >= 16) keyCache.clear();
    keyCache.set(x, key);
  }
  return key;
}

// MARK: parsing as the server does

/**
 * A number as Swift's `Double(String)` reads it: decimal or hexadecimal floating point, an optional
 * sign, `inf`/`infinity`/`nan`; no surrounding spaces. Undefined where Swift gives nil.
 */
function parseSwiftDouble(text: string): number | undefined {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Number(text);
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2].toLowerCase() === "nan") return NaN;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/.exec(text);
  if (hex && (hex[2] || hex[3])) {
    const whole = hex[2] || "0";
    const fraction = hex[3] ?? "";
    let value = parseInt(whole, 16);
    for (let index = 0; index < fraction.length; index++) value += parseInt(fraction[index], 16) / 16 ** (index + 1);
    value *= 2 ** Number(hex[4] ?? 0);
    return hex[1] === "-" ? -value : value;
  }
  return undefined;
}

/** Swift's `CharacterSet.whitespaces` (tab and the Unicode space separators) at either end. */
const HORIZONTAL_SPACE = /^[\t \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+|[\t \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+$/g;

/** Swift's `split(separator:maxSplits:)` with empty pieces left out. */
function swiftSplit(text: string, separator: string, maxSplits = Infinity): string[] {
  const result: string[] = [];
  let start = 0;
  let index = 0;
  while (index < text.length) {
    if (text[index] === separator) {
      const appended = index > start;
      if (appended) result.push(text.slice(start, index));
      index += 1;
      start = index;
      if (appended && result.length === maxSplits) break;
      continue;
    }
    index += 1;
  }
  if (start < text.length) result.push(text.slice(start));
  return result;
}

// MARK: bytes

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function bytes(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? utf8(body) : body;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const result = new Uint8Array(a.length + b.length);
  result.set(a, 0);
  result.set(b, a.length);
  return result;
}

/** Strict base64 (padding required, no spaces), as Foundation's `Data(base64Encoded:)`. */
function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const binary = atob(text);
  const result = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) result[index] = binary.charCodeAt(index);
  return result;
}

function encodeBase64Url(data: Uint8Array): string {
  let binary = "";
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function encodeHex(data: Uint8Array): string {
  let hex = "";
  for (const byte of data) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

function decodeHex(hex: string): Uint8Array {
  const result = new Uint8Array(hex.length / 2);
  for (let index = 0; index < result.length; index++) result[index] = parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  return result;
}
