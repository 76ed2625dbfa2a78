import { Inject, Injectable } from '@nestjs/common';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { addressRefusal, MenagerieError, urlUnderPrefix } from '@menagerie/core';
import type { MenagerieConfig } from '@menagerie/config';
import { CONFIG } from '../common/tokens';

const MAX_URL_LENGTH = 2048;

/** `callback=<url>` on the query or as a form field (the query wins), or undefined. */
export function callbackAsked(query: unknown, fields: Record<string, string>): string | undefined {
  const value = typeof query === 'string' ? query : fields.callback;
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * Whether the server may call a `callback=<url>`: it must start with one of
 * webhooks.callbackAllow, and its host must not resolve to a loopback,
 * private, link-local or unique-local address (addressRefusal) unless
 * webhooks.allowPrivate lets that URL. Checked here, when the upload is
 * accepted, and again by the worker at every connection (a DNS answer can
 * change in between).
 */
@Injectable()
export class CallbackPolicy {
  constructor(@Inject(CONFIG) private readonly config: MenagerieConfig) {}

  /** The query's callback, checked before a byte of the upload is stored; null when it gave none. */
  async fromQuery(query: unknown): Promise<string | null> {
    const asked = callbackAsked(query, {});
    return asked === undefined ? null : this.accept(asked);
  }

  /** The form's callback, when the query gave none, checked once the body is in; `discard` removes what was stored before a refusal. */
  async fromForm(fields: Record<string, string>, discard: () => Promise<void>): Promise<string | null> {
    const asked = callbackAsked(undefined, fields);
    if (asked === undefined) return null;
    try {
      return await this.accept(asked);
    } catch (err) {
      await discard();
      throw err;
    }
  }

  /** The URL to keep, or CALLBACK_NOT_ALLOWED saying why. */
  async accept(url: string): Promise<string> {
    const { callbackAllow, allowPrivate } = this.config.settings.webhooks;
    const refuse = (why: string): never => {
      throw new MenagerieError('CALLBACK_NOT_ALLOWED', `callback ${why}; nothing was kept`, { callback: url.slice(0, 200) });
    };
    if (!callbackAllow.length) refuse('URLs are not accepted by this server (webhooks.callbackAllow is empty)');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return refuse('is not a URL');
    }
    if (url.length > MAX_URL_LENGTH) refuse(`is longer than ${MAX_URL_LENGTH} characters`);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') refuse('must be an http:// or https:// URL');
    if (parsed.username || parsed.password) refuse('must not carry credentials');
    if (!callbackAllow.some((prefix) => urlUnderPrefix(url, prefix)))
      refuse(`${parsed.origin}${parsed.pathname} is not under a prefix this server allows`);
    if (allowPrivate.some((prefix) => urlUnderPrefix(url, prefix))) return url;
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      return refuse(`host ${host} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    for (const address of addresses) {
      const why = addressRefusal(address);
      if (why) refuse(`host ${host} resolves to ${address}, ${why}, which only webhooks.allowPrivate can let through`);
    }
    return url;
  }
}
