/** Pages about the IdP that discovery points relying-party developers to, each only when configured. */
export type OpDocuments = { serviceDocumentation?: string; policyUri?: string; tosUri?: string };

const variables = { serviceDocumentation: 'SERVICE_DOCUMENTATION', policyUri: 'OP_POLICY_URI', tosUri: 'OP_TOS_URI' } as const;

/** SERVICE_DOCUMENTATION, OP_POLICY_URI, OP_TOS_URI: absolute https URLs (http is let through outside production). */
export function loadOpDocuments(env: NodeJS.ProcessEnv, production: boolean, problems: string[]): OpDocuments {
  const documents: OpDocuments = {};
  for (const [key, name] of Object.entries(variables) as [keyof OpDocuments, string][]) {
    const value = env[name];
    if (!value) continue;
    const url = URL.parse(value);
    if (!url || !(url.protocol === 'https:' || (!production && url.protocol === 'http:'))) {
      problems.push(`${name} must be an ${production ? 'https' : 'http(s)'} URL, got "${value}"`);
    } else {
      documents[key] = url.href;
    }
  }
  return documents;
}
