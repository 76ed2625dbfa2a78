import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '@menagerie/core';
import { ensureSearchAttributes, type OperatorConnection } from './search-attributes';

/** An operator service that knows `known`, and records what it is asked to add. */
function operator(known: string[], refuse?: Error) {
  const added: Record<string, number>[] = [];
  const connection = {
    operatorService: {
      listSearchAttributes: async () => ({ customAttributes: Object.fromEntries(known.map((n) => [n, 2])) }),
      addSearchAttributes: async ({ searchAttributes }: { searchAttributes: Record<string, number> }) => {
        if (refuse) throw refuse;
        added.push(searchAttributes);
        return {};
      },
    },
  } as unknown as OperatorConnection;
  return { connection, added };
}

describe('ensureSearchAttributes', () => {
  it('registers only the attributes the namespace lacks', async () => {
    const { connection, added } = operator([SEARCH_ATTRIBUTES.engine]);
    const { KEYWORD, INT } = {
      KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
    };
    expect(await ensureSearchAttributes(connection, 'default')).toEqual([
      SEARCH_ATTRIBUTES.sha256,
      SEARCH_ATTRIBUTES.node,
      SEARCH_ATTRIBUTES.workflowVersion,
    ]);
    expect(added).toEqual([
      { [SEARCH_ATTRIBUTES.sha256]: KEYWORD, [SEARCH_ATTRIBUTES.node]: KEYWORD, [SEARCH_ATTRIBUTES.workflowVersion]: INT },
    ]);
  });

  it('asks nothing more when all are there', async () => {
    const { connection, added } = operator(Object.values(SEARCH_ATTRIBUTES));
    expect(await ensureSearchAttributes(connection, 'default')).toEqual([]);
    expect(added).toEqual([]);
  });

  it('takes a race with another process as done', async () => {
    const { connection } = operator([], new Error('3 INVALID_ARGUMENT: search attribute MenagerieNode already exists'));
    expect(await ensureSearchAttributes(connection, 'default')).toEqual([]);
  });

  it('names the command that registers them by hand when the server refuses', async () => {
    const { connection } = operator([], new Error('7 PERMISSION_DENIED: Request unauthorized.'));
    await expect(ensureSearchAttributes(connection, 'prod')).rejects.toThrow(
      /register them once with: temporal operator search-attribute create --namespace prod --name MenagerieEngine --name MenagerieSha256 --name MenagerieNode --type Keyword; temporal operator search-attribute create --namespace prod --name MenagerieWorkflowVersion --type Int$/,
    );
  });
});
