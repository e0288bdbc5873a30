import { createServer, type Server } from 'node:http';

export interface FakeSecretsManager {
  /** http://127.0.0.1:PORT: for AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly url: string;
  /** The SecretId of every GetSecretValue call, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

/**
 * Secrets Manager's GetSecretValue on loopback (the AWS JSON 1.1 protocol the SDK v3 speaks), for
 * the secrets given by id (a complete ARN or a name, exactly as a caller must ask for it). Any
 * other id is a ResourceNotFoundException, as for a secret that does not exist.
 */
export async function startFakeSecretsManager(secrets: Readonly<Record<string, string>>): Promise<FakeSecretsManager> {
  const calls: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (c: Buffer) => (body += c.toString()));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const send = (status: number, payload: unknown) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(payload));
      };
      if (target !== 'secretsmanager.GetSecretValue') return send(400, { __type: 'UnknownOperationException', message: `not faked: ${target}` });
      const { SecretId } = JSON.parse(body || '{}') as { SecretId?: string };
      calls.push(String(SecretId));
      const value = SecretId === undefined ? undefined : secrets[SecretId];
      if (value === undefined) return send(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      send(200, { ARN: SecretId, Name: SecretId, SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1_700_000_000 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
