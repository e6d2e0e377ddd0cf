/** Which friendly page a browser sees for a refusal that is nobody's fault but the moment's. */
export type BusyPage = 'limited' | 'busy' | 'unavailable';

export type HttpErrorOptions = {
  /** Whether the message may be shown to the member (default: for statuses below 500). */
  expose?: boolean;
  /** Seconds until a retry may succeed: sent as `Retry-After`. */
  retryAfter?: number;
  /** The page a browser sees instead of the generic error page. */
  page?: BusyPage;
  /** Where "Try again" leads from that page, when it is not the address just asked for (a form's page). */
  retryHref?: string;
};

/**
 * An error that carries its HTTP meaning: the status, a stable code, and whether its message may be
 * shown to the member (`expose`). The error boundary is the only place that turns it into a response.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly expose: boolean;
  readonly retryAfter: number | undefined;
  readonly page: BusyPage | undefined;
  readonly retryHref: string | undefined;
  constructor(status: number, code: string, message: string, options: HttpErrorOptions = {}) {
    super(message);
    const { expose = status < 500, retryAfter, page, retryHref } = options;
    this.status = status;
    this.code = code;
    this.expose = expose;
    this.retryAfter = retryAfter === undefined ? undefined : Math.max(1, Math.ceil(retryAfter));
    this.page = page;
    this.retryHref = retryHref;
  }
}
