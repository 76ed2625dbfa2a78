import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_TYPES, SEARCH_ATTRIBUTES } from '@menagerie/core';

/** The typed keys of the search attributes, for starting, upserting and reading them. */
export const SEARCH_ATTRIBUTE_KEYS = {
  engine: defineSearchAttributeKey(SEARCH_ATTRIBUTES.engine, SearchAttributeType[SEARCH_ATTRIBUTE_TYPES.engine]),
  sha256: defineSearchAttributeKey(SEARCH_ATTRIBUTES.sha256, SearchAttributeType[SEARCH_ATTRIBUTE_TYPES.sha256]),
  node: defineSearchAttributeKey(SEARCH_ATTRIBUTES.node, SearchAttributeType[SEARCH_ATTRIBUTE_TYPES.node]),
  workflowVersion: defineSearchAttributeKey(SEARCH_ATTRIBUTES.workflowVersion, SearchAttributeType[SEARCH_ATTRIBUTE_TYPES.workflowVersion]),
} as const;

/** Temporal's own: the patches a workflow took (`patched()`), which the SDK upserts. */
export const CHANGE_VERSION_KEY = defineSearchAttributeKey('TemporalChangeVersion', SearchAttributeType.KEYWORD_LIST);

/** How the operator service spells each type the attributes use. */
const INDEXED_VALUE_TYPES = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
} as const;

/** How the CLI spells a type (`--type Keyword`). */
const cliType = (type: string) => type.charAt(0) + type.slice(1).toLowerCase();

/** What registering search attributes needs of a connection: the API's Connection and the worker's NativeConnection both have it. */
export interface OperatorConnection {
  operatorService: Pick<temporal.api.operatorservice.v1.OperatorService, 'listSearchAttributes' | 'addSearchAttributes'>;
}

/**
 * Registers the search attributes a namespace lacks (SEARCH_ATTRIBUTE_KEYS),
 * and answers the names it registered. The API and every worker
 * call it at start: starting or upserting an unknown attribute would fail the
 * start or the workflow's task. A server that refuses (no operator rights)
 * fails with the command that registers them by hand.
 */
export async function ensureSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const keys = Object.values(SEARCH_ATTRIBUTE_KEYS);
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = keys.filter((key) => existing.customAttributes?.[key.name] === undefined);
    if (!missing.length) return [];
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_VALUE_TYPES[key.type]])),
    });
    return missing.map((key) => key.name);
  } catch (err) {
    if (/already exists/i.test(String(err))) return [];
    const types = [...new Set(keys.map((key) => cliType(key.type)))];
    const commands = types.map(
      (type) =>
        `temporal operator search-attribute create --namespace ${namespace} ${keys
          .filter((k) => cliType(k.type) === type)
          .map((k) => `--name ${k.name}`)
          .join(' ')} --type ${type}`,
    );
    throw new Error(
      `could not register the search attributes ${keys.map((key) => `${key.name} (${cliType(key.type)})`).join(', ')} ` +
        `in namespace ${namespace}: ${String(err)}; register them once with: ${commands.join('; ')}`,
    );
  }
}
