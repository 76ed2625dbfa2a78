import { body } from './http';

/** The API answered `status` with the error code `error` in its JSON body; gives that body (its `message` says why). */
export async function expectErrorAnswer(res: Response, status: number, error: string): Promise<Record<string, any>> {
  expect(res.status).toBe(status);
  const answer = await body(res);
  expect(answer.error).toBe(error);
  return answer;
}
