/**
 * Requests to the Ory admin APIs (Kratos, Hydra): every request has a timeout and is retried with
 * backoff on network errors, timeouts, 429 and 5xx; 4xx answers fail at once with the response body
 * in the error.
 */
export interface AdminRequestError extends Error {
  status: number | undefined;
  retryable: boolean;
}

/**
 * A plain Error with fields, not a subclass: closure serialization turns classes into ES5 functions
 * whose instances are not real Errors, which p-retry and the engine then refuse.
 */
export function adminRequestError(message: string, status: number | undefined, retryable: boolean): AdminRequestError {
  return Object.assign(new Error(message), { name: "AdminRequestError", status, retryable });
}

const isAdminRequestError = (error: unknown): error is AdminRequestError =>
  error instanceof Error && error.name === "AdminRequestError";

export interface RequestOptions {
  /** Attempts per request. @default 5 */
  retries?: number;
  /** Per-attempt timeout in milliseconds. @default 30000 */
  timeoutMs?: number;
}

export async function request(
  baseUrl: string,
  path: string,
  init: RequestInit,
  options: RequestOptions = {},
): Promise<Response> {
  const pRetry = require("p-retry") as typeof import("p-retry");
  const url = new URL(path, baseUrl).toString();
  return pRetry(
    async () => {
      let response: Response;
      try {
        response = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
      } catch (error) {
        throw adminRequestError(`${init.method ?? "GET"} ${url} failed: ${(error as Error).message}`, undefined, true);
      }
      if (response.status === 429 || response.status >= 500) {
        throw adminRequestError(
          `${init.method ?? "GET"} ${url} answered ${response.status}: ${(await response.text()).slice(0, 500)}`,
          response.status,
          true,
        );
      }
      return response;
    },
    {
      retries: (options.retries ?? 5) - 1,
      minTimeout: 200,
      factor: 2,
      onFailedAttempt: (error) => {
        if (isAdminRequestError(error) && !error.retryable) throw error;
      },
    },
  );
}

export async function expectOk(response: Response, what: string): Promise<Response> {
  if (!response.ok)
    throw adminRequestError(
      `${what} answered ${response.status}: ${(await response.text()).slice(0, 500)}`,
      response.status,
      false,
    );
  return response;
}
