/**
 * The few parts of Node's `node:crypto` the webhook checks use, declared here because the SDK is
 * built without `@types/node`. Buffers are accepted and returned as `Uint8Array` (a Node `Buffer`
 * is one).
 */
declare module "node:crypto" {
  /** An imported key (opaque here). */
  export interface KeyObject {
    readonly type: "secret" | "public" | "private";
    readonly asymmetricKeyType?: string;
  }

  /** An Ed25519 public key as a JWK: `x` is the base64url of the raw 32 bytes. */
  export interface OkpJsonWebKey {
    kty: "OKP";
    crv: "Ed25519";
    x: string;
  }

  export function createPublicKey(key: { key: OkpJsonWebKey; format: "jwk" }): KeyObject;

  /** With `algorithm` null the key decides (Ed25519 signs the message itself, no digest). */
  export function verify(
    algorithm: null | undefined,
    data: Uint8Array,
    key: KeyObject,
    signature: Uint8Array,
  ): boolean;

  export interface Hmac {
    update(data: Uint8Array | string): Hmac;
    digest(): Uint8Array;
  }

  export function createHmac(algorithm: "sha256", key: Uint8Array | string): Hmac;

  /** Throws unless both have the same length. */
  export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}
