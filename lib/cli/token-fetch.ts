/**
 * A `fetch` that presents a bearer token (the local stack's admin token) on every request.
 * Same signature as `fetch`, so a generated client (`createClient({ baseUrl, fetch })`) can use it.
 */
export function tokenFetch(token: string, send: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    request.headers.set("authorization", `Bearer ${token}`);
    return send(request);
  };
}
