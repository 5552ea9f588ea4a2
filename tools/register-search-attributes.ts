/**
 * Registers the search attributes the workflows set (workflows/search-attributes.ts) in a Temporal
 * namespace, adding only the missing ones so it can run on every install and upgrade (the Helm chart's
 * post-install Job). Connection settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS*, TEMPORAL_API_KEY.
 */
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadTemporalConfig } from '../runtime/config';
import { temporalConnectionOptions } from '../runtime/temporal';
import { searchAttributeKeys } from '../workflows/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;

export interface RegistrationResult {
  added: string[];
  present: string[];
}

export async function registerSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<RegistrationResult> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = existing.customAttributes ?? {};
  const added: string[] = [];
  const present: string[] = [];
  const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of searchAttributeKeys) {
    const want = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    const have = custom[key.name];
    if (have === undefined) {
      missing[key.name] = want;
      added.push(key.name);
    } else if (have !== want) {
      throw new Error(
        `search attribute ${key.name} exists in namespace ${namespace} as ${IndexedValueType[have]}, ` +
          `but the workflows set it as Keyword: remove or rename the existing attribute`,
      );
    } else {
      present.push(key.name);
    }
  }
  if (added.length) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  }
  return { added, present };
}

async function main() {
  const config = loadTemporalConfig();
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    const { added, present } = await registerSearchAttributes(connection, config.namespace);
    console.log(
      `search attributes in ${config.namespace}: added [${added.join(', ')}], already present [${present.join(', ')}]`,
    );
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(
      `registering search attributes failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    process.exit(1);
  });
}
