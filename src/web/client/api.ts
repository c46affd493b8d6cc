// The dashboard's calls to the API (same origin). Reads need nothing; controls send the token the user
// entered as `Authorization: Bearer`; the server decides (401 for a wrong token, 403 when none is set).

export type Answer<T> = { ok: true; status: number; data: T } | { ok: false; status: number; code: string; message: string };

async function answer<T>(res: Response): Promise<Answer<T>> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: keep null
  }
  if (res.ok) return { ok: true, status: res.status, data: body as T };
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return {
    ok: false,
    status: res.status,
    code: typeof err?.code === 'string' ? err.code : `http_${res.status}`,
    message: typeof err?.message === 'string' ? err.message : `${res.status} ${res.statusText}`,
  };
}

/** GET a JSON endpoint; network errors become status 0. */
export async function getJson<T>(path: string): Promise<Answer<T>> {
  try {
    return await answer<T>(await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' }));
  } catch (e) {
    return { ok: false, status: 0, code: 'network', message: `cannot reach the server (${(e as Error).message})` };
  }
}

/** POST a control command with the bearer token. */
export async function postControl<T>(path: string, body: unknown, token: string): Promise<Answer<T>> {
  try {
    const init: RequestInit = { method: 'POST', headers: { authorization: `Bearer ${token}` }, cache: 'no-store' };
    if (body !== undefined) {
      init.headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    return await answer<T>(await fetch(path, init));
  } catch (e) {
    return { ok: false, status: 0, code: 'network', message: `cannot reach the server (${(e as Error).message})` };
  }
}

const KEY = 'papertape.apiToken';
let memory: string | null = null;

/** The API token, kept for this browser tab only (sessionStorage; in memory where storage is refused). */
export const tokenStore = {
  get(): string | null {
    try {
      return sessionStorage.getItem(KEY) ?? memory;
    } catch {
      return memory;
    }
  },
  set(t: string): void {
    memory = t;
    try {
      sessionStorage.setItem(KEY, t);
    } catch {
      // storage refused: memory only
    }
  },
  clear(): void {
    memory = null;
    try {
      sessionStorage.removeItem(KEY);
    } catch {
      // nothing stored
    }
  },
};
