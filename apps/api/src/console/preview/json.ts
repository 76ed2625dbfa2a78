import type { PreviewLimits } from './limits';

/**
 * `JSON.stringify(value, null, 2)`, but bounded: it stops at `jsonChars`
 * characters, and indents no deeper than `jsonIndentDepth` levels. It walks
 * the value with a stack of its own, so no nesting overflows the call stack,
 * and every step writes output, so the work is bounded by the output.
 */
export function prettyJson(
  value: unknown,
  limits: Pick<PreviewLimits, 'jsonChars' | 'jsonIndentDepth'>,
): { text: string; truncated: boolean; note: string | null } {
  const pads = Array.from({ length: limits.jsonIndentDepth + 1 }, (_, depth) => `\n${'  '.repeat(depth)}`);
  const pad = (depth: number) => pads[Math.min(depth, limits.jsonIndentDepth)];
  const out: string[] = [];
  let length = 0;
  let cut = false;
  let flattened = false;
  const emit = (s: string): boolean => {
    if (length + s.length <= limits.jsonChars) {
      out.push(s);
      length += s.length;
      return true;
    }
    let head = s.slice(0, limits.jsonChars - length);
    if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1); // never half a character
    out.push(head);
    cut = true;
    return false;
  };

  interface Frame {
    container: unknown[] | Record<string, unknown>;
    keys: string[] | null;
    next: number;
    depth: number;
  }
  const stack: Frame[] = [];
  /** Writes a primitive, an empty container, or a container's opening (and stacks it). */
  const open = (v: unknown, depth: number): boolean => {
    if (depth > limits.jsonIndentDepth) flattened = true;
    if (Array.isArray(v)) {
      if (v.length === 0) return emit('[]');
      stack.push({ container: v, keys: null, next: 0, depth });
      return emit('[');
    }
    if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length === 0) return emit('{}');
      stack.push({ container: v as Record<string, unknown>, keys, next: 0, depth });
      return emit('{');
    }
    return emit(JSON.stringify(v));
  };

  let going = open(value, 0);
  while (going && stack.length > 0) {
    const frame = stack[stack.length - 1];
    const items = frame.keys ?? (frame.container as unknown[]);
    if (frame.next === items.length) {
      stack.pop();
      going = emit(pad(frame.depth) + (frame.keys ? '}' : ']'));
      continue;
    }
    const i = frame.next++;
    const sep = (i === 0 ? '' : ',') + pad(frame.depth + 1);
    if (frame.keys) {
      const key = frame.keys[i];
      going = emit(`${sep}${JSON.stringify(key)}: `) && open((frame.container as Record<string, unknown>)[key], frame.depth + 1);
    } else {
      going = emit(sep) && open((frame.container as unknown[])[i], frame.depth + 1);
    }
  }
  const notes = [
    cut ? `only the first ${limits.jsonChars} characters of the pretty-printed JSON are shown` : null,
    flattened ? `nesting deeper than ${limits.jsonIndentDepth} levels is not indented further` : null,
  ].filter((n): n is string => n !== null);
  return { text: out.join(''), truncated: cut, note: notes.length > 0 ? notes.join('; ') : null };
}
