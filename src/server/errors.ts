/**
 * The HTTP edge of the error catalogue: the one place that maps an error's kind to a
 * status code, and the one error body, `{ "error": { code, message, hint, docs } }`.
 * Framework errors (body too large, malformed JSON, wrong media type) are turned into
 * catalogue errors first, so clients see one shape everywhere.
 */
import { ShelfError, STATUS_BY_KIND, toShelfError } from '../core/errors.js';

export { STATUS_BY_KIND };

export interface ErrorBody {
  readonly error: { code: string; message: string; hint: string; docs: string };
}

export function errorBody(err: ShelfError): ErrorBody {
  return { error: err.toJSON() };
}

/** Fastify's own error codes (its errors carry `code` and `statusCode`) as catalogue errors. */
export function fromFrameworkError(
  e: unknown,
  limits: { maxBodyBytes: number; maxUploadBytes: number },
): ShelfError {
  if (e instanceof ShelfError) return e;
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ShelfError('PAYLOAD_TOO_LARGE', { limit: limits.maxBodyBytes }, { cause: e });
    case 'FST_REQ_FILE_TOO_LARGE':
      return new ShelfError('PAYLOAD_TOO_LARGE', { limit: limits.maxUploadBytes }, { cause: e });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ShelfError(
        'BODY_INVALID',
        { detail: 'send application/json (or multipart/form-data to upload a file)' },
        { cause: e },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ShelfError('BODY_INVALID', { detail: 'the JSON body is empty' }, { cause: e });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ShelfError(
        'BODY_INVALID',
        { detail: 'Content-Length does not match the body' },
        { cause: e },
      );
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new ShelfError('BODY_INVALID', { detail: 'too many parts in the multipart body' }, { cause: e });
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new ShelfError('BODY_INVALID', { detail: 'the multipart body is malformed' }, { cause: e });
  }
  const status = typeof e === 'object' && e !== null ? (e as { statusCode?: unknown }).statusCode : undefined;
  // Any other client error the framework raised (malformed request line, bad multipart…).
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new ShelfError('BODY_INVALID', { detail: message }, { cause: e });
  return toShelfError(e);
}
