import type { HttpClient, RequestOptions } from "../http.js";

/** Base of every resource: the HTTP core and id escaping. */
export abstract class Resource {
  constructor(protected readonly http: HttpClient) {}
}

/** A path segment from an id (ids are opaque: escaped, never trusted to be URL-safe). */
export function segment(id: string): string {
  if (typeof id !== "string" || id === "") throw new TypeError("CloudGreetClient: an id must be a non-empty string");
  return encodeURIComponent(id);
}

export type { RequestOptions };
