import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '@menagerie/core';

/** The typed keys of the search attributes (all Keyword), for starting, upserting and reading them. */
export const SEARCH_ATTRIBUTE_KEYS = {
  engine: defineSearchAttributeKey(SEARCH_ATTRIBUTES.engine, SearchAttributeType.KEYWORD),
  sha256: defineSearchAttributeKey(SEARCH_ATTRIBUTES.sha256, SearchAttributeType.KEYWORD),
  node: defineSearchAttributeKey(SEARCH_ATTRIBUTES.node, SearchAttributeType.KEYWORD),
} as const;

/** What registering search attributes needs of a connection: the API's Connection and the worker's NativeConnection both have it. */
export interface OperatorConnection {
  operatorService: Pick<temporal.api.operatorservice.v1.OperatorService, 'listSearchAttributes' | 'addSearchAttributes'>;
}

/**
 * Registers the search attributes a namespace lacks (SEARCH_ATTRIBUTES, all
 * Keyword), and answers the names it registered. The API and every worker
 * call it at start: starting or upserting an unknown attribute would fail the
 * start or the workflow's task. A server that refuses (no operator rights)
 * fails with the command that registers them by hand.
 */
export async function ensureSearchAttributes(connection: OperatorConnection, namespace: string): Promise<string[]> {
  const names = Object.values(SEARCH_ATTRIBUTES);
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = names.filter((name) => existing.customAttributes?.[name] === undefined);
    if (!missing.length) return [];
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
    return missing;
  } catch (err) {
    if (/already exists/i.test(String(err))) return [];
    throw new Error(
      `could not register the search attributes ${names.join(', ')} (Keyword) in namespace ${namespace}: ${String(err)}; ` +
        `register them once with: temporal operator search-attribute create --namespace ${namespace} ${names.map((n) => `--name ${n}`).join(' ')} --type Keyword`,
    );
  }
}
