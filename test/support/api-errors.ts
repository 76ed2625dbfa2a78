import { body } from './http';

/** The API answered `status` with the error code `error` in its JSON body; gives that body (its `message` says why). */
export async function expectErrorAnswer(res: Response, status: number, error: string): Promise<Record<string, any>> {
  expect(res.status).toBe(status);
  const answer = await body(res);
  expect(answer.error).toBe(error);
  return answer;
}

/** As expectErrorAnswer, and the answer is JSON with a `message`: gives the message. */
export async function expectJsonError(res: Response, status: number, error: string): Promise<string> {
  const answer = await expectErrorAnswer(res, status, error);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  expect(typeof answer.message).toBe('string');
  return answer.message;
}
