// Typed cloud errors: what went wrong, decided once from HTTP status + region error code, so the
// activities can choose retryable vs non-retryable by class instead of parsing messages.

/** The JSON error body every region error carries. */
export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
  details?: Record<string, unknown>;
}

export interface CloudErrorInit {
  /** The region's error code (`quota_exceeded`, `invalid`, …) or a transport code (`timeout`, `ECONNREFUSED`). */
  code: string;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  message: string;
  field?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class CloudError extends Error {
  readonly code: string;
  readonly status: number;
  /** The request field the region blamed, when it named one. */
  readonly field: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(init: CloudErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.status = init.status;
    this.field = init.field;
    this.details = init.details ?? {};
  }

  /** Worth trying again later: only when the cloud was unavailable (5xx, timeout, no connection). */
  get retryable(): boolean {
    return false;
  }
}

/** 404: the thing does not exist (or no longer does). */
export class NotFound extends CloudError {}

/** 409: the request clashes with the current state (static IP taken, volume in use, allocation in use). */
export class Conflict extends CloudError {}

/** 409 `quota_exceeded` / `capacity_exceeded`: the pool would be over its limit. */
export class QuotaExceeded extends CloudError {
  /** Which limit was hit (`cpus`, `memory_mb`, `instances`, `size_gb`). */
  get resource(): string {
    const r = this.details.resource;
    return typeof r === 'string' ? r : 'unknown';
  }
  /** By how much the request would overshoot the limit. */
  get overshoot(): number {
    const o = this.details.overshoot;
    return typeof o === 'number' ? o : 0;
  }
}

/** 409 `invalid_state`: the action is not allowed in the resource's current state. */
export class InvalidState extends CloudError {}

/** 400 / 422: the request itself is wrong; repeating it cannot help. */
export class Invalid extends CloudError {}

/** 422 `image_not_found`: no such stemcell in the region. */
export class ImageNotFound extends CloudError {}

/** 401 / 403: missing or wrong credentials. */
export class Unauthorized extends CloudError {}

/** 410 `gone`: the idempotency key names something that existed and was deleted. */
export class Gone extends CloudError {}

/** 5xx, 429, timeouts, refused or reset connections: the only retryable kind. */
export class Unavailable extends CloudError {
  override get retryable(): boolean {
    return true;
  }
}

/** Maps one HTTP error response to its typed error. */
export function errorFromResponse(status: number, body: ErrorBody | undefined, what: string): CloudError {
  const code = body?.code ?? `http_${status}`;
  const init: CloudErrorInit = {
    code,
    status,
    message: `${what}: ${body?.message ?? `HTTP ${status}`}`,
    ...(body?.field === undefined ? {} : { field: body.field }),
    ...(body?.details === undefined ? {} : { details: body.details }),
  };
  if (status === 401 || status === 403) return new Unauthorized(init);
  if (status === 404) return new NotFound(init);
  if (status === 410) return new Gone(init);
  if (status === 409) {
    if (code === 'quota_exceeded' || code === 'capacity_exceeded') return new QuotaExceeded(init);
    if (code === 'invalid_state') return new InvalidState(init);
    return new Conflict(init);
  }
  if (status === 422 && code === 'image_not_found') return new ImageNotFound(init);
  if (status === 400 || status === 422) return new Invalid(init);
  if (status === 429 || status >= 500) return new Unavailable(init);
  return new CloudError(init);
}
