import type { Settings } from '@menagerie/config';
import type { JobPage } from '@menagerie/db';
import { toJobView, type JobView } from './job.view';

/** The JSON shape of a history page, as GET /jobs and the console's search answer it. */
export interface JobPageView extends Omit<JobPage, 'items'> {
  items: JobView[];
  /** `next` as a URL that keeps the request's filters and limit. */
  nextUrl: string | null;
  prevUrl: string | null;
}

const KEPT = ['q', 'engine', 'status', 'sha256', 'tag', 'limit'];

/** `path` is where the page was asked (`/jobs`); `query` the request's, already validated. */
export function toJobPageView(page: JobPage, path: string, query: Record<string, unknown>, settings: Settings): JobPageView {
  const url = (cursor: string | null) => {
    if (!cursor) return null;
    const params = new URLSearchParams();
    for (const key of KEPT) if (typeof query[key] === 'string' && query[key] !== '') params.set(key, query[key] as string);
    params.set('cursor', cursor);
    return `${settings.api.publicUrl}${path}?${params}`;
  };
  return { ...page, items: page.items.map((j) => toJobView(j, settings)), nextUrl: url(page.next), prevUrl: url(page.prev) };
}
