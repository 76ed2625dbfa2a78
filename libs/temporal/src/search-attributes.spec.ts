import { SEARCH_ATTRIBUTES } from '@menagerie/core';
import { ensureSearchAttributes, type OperatorConnection } from './search-attributes';

/** An operator service that knows `known`, and records what it is asked to add. */
function operator(known: string[], refuse?: Error) {
  const added: string[][] = [];
  const connection = {
    operatorService: {
      listSearchAttributes: async () => ({ customAttributes: Object.fromEntries(known.map((n) => [n, 2])) }),
      addSearchAttributes: async ({ searchAttributes }: { searchAttributes: Record<string, number> }) => {
        if (refuse) throw refuse;
        added.push(Object.keys(searchAttributes));
        return {};
      },
    },
  } as unknown as OperatorConnection;
  return { connection, added };
}

describe('ensureSearchAttributes', () => {
  it('registers only the attributes the namespace lacks', async () => {
    const { connection, added } = operator([SEARCH_ATTRIBUTES.engine]);
    expect(await ensureSearchAttributes(connection, 'default')).toEqual([SEARCH_ATTRIBUTES.sha256, SEARCH_ATTRIBUTES.node]);
    expect(added).toEqual([[SEARCH_ATTRIBUTES.sha256, SEARCH_ATTRIBUTES.node]]);
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
      /temporal operator search-attribute create --namespace prod --name MenagerieEngine --name MenagerieSha256 --name MenagerieNode --type Keyword/,
    );
  });
});
