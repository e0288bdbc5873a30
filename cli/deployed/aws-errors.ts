import { InputError } from '../../core/errors/input-error.js';
import { FatalError, RetryableError } from '../../core/errors/sidekiq-migrate-error.js';

/** Error names of the AWS SDK that mean "you asked for something that is not there or not allowed". */
const INPUT_ERRORS = new Set([
  'ExecutionDoesNotExist',
  'StateMachineDoesNotExist',
  'ExecutionAlreadyExists',
  'InvalidArn',
  'InvalidName',
  'InvalidExecutionInput',
  'ValidationError',
  'ValidationException',
  'ResourceNotFound',
]);

/** Credentials missing, expired or refused: the operator fixes their AWS session, not us. */
const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'AccessDenied',
  'AccessDeniedException',
]);

/** Whether Step Functions (or CloudFormation) asked us to slow down. */
export function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: { throttling?: boolean } } | undefined;
  return e?.name === 'ThrottlingException' || e?.name === 'Throttling' || e?.name === 'TooManyRequestsException' || e?.$retryable?.throttling === true;
}

/**
 * An AWS SDK error as one of ours, with a message that says what we were doing: bad names and
 * credentials are input errors (exit 2, nothing done), throttling and service faults retryable,
 * anything else fatal. The SDK's own error stays as the cause.
 */
export function awsError(error: unknown, doing: string): Error {
  const e = error as { name?: string; message?: string } | undefined;
  const name = e?.name ?? 'Error';
  const message = `${doing}: ${e?.message ?? String(error)}`;
  if (CREDENTIAL_ERRORS.has(name)) {
    return new InputError(`${message} (${name}). Check the AWS credentials and region this shell uses (AWS_PROFILE, AWS_REGION, aws sts get-caller-identity) and that they may call Step Functions.`, { cause: error });
  }
  if (INPUT_ERRORS.has(name)) return new InputError(`${message} (${name})`, { cause: error });
  // The SDK found no region anywhere: bad usage, said as such (exit 2), with where a region comes from.
  if (/^Region is missing$/.test(e?.message ?? '')) {
    return new InputError(`${doing}: no AWS region: give --region, or set AWS_REGION (or aws.region in the configuration file, or a region in the AWS profile)`, { cause: error });
  }
  if (isThrottling(error)) return new RetryableError(`${message} (throttled by AWS; try again in a minute)`, { cause: error });
  return new FatalError(`${message} (${name})`, { cause: error });
}

